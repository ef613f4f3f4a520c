namespace PubSubGateway.ControlPlane.Tests.Infrastructure;

/// <summary>Short timings so each test takes seconds: heartbeats every 200 ms, entries gone after 1.5 s.</summary>
public static class ClusterSettings
{
    public static string NewBucket() => "nodes-" + Guid.NewGuid().ToString("N")[..10];

    public static string[] Node(string bucket, params string[] extra) =>
    [
        "--Gateway:Cluster:Bucket", bucket,
        "--Gateway:Cluster:HeartbeatIntervalMs", "200",
        "--Gateway:Cluster:NodeTtlMs", "1500",
        .. extra,
    ];
}
