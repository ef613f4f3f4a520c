namespace PubSubGateway.Cluster;

/// <summary>Settings under <c>Gateway:Cluster:</c>: how the node reports itself to the control plane.</summary>
public sealed class ClusterOptions
{
    public const string Section = "Gateway:Cluster";

    /// <summary>NATS KV bucket holding one heartbeat entry per node (shared with the control plane).</summary>
    public string Bucket { get; set; } = "gateway-nodes";

    public int HeartbeatIntervalMs { get; set; } = 2_000;

    /// <summary>
    /// Bucket <c>MaxAge</c>: an entry not refreshed within this time is gone. nats-server 2.9 has no
    /// per-key TTL, so the whole bucket ages out entries; the control plane applies the same TTL.
    /// </summary>
    public int NodeTtlMs { get; set; } = 6_000;

    /// <summary>Replicas of the heartbeat bucket; 3 on a 3-node NATS cluster so losing a server keeps the registry.</summary>
    public int Replicas { get; set; } = 1;

    /// <summary>Commands for node <c>n</c> arrive on <c>&lt;prefix&gt;.n</c> (request/reply).</summary>
    public string ControlSubjectPrefix { get; set; } = "gw.control";
}

/// <summary>Settings under <c>Gateway:Drain:</c>: how clients are moved off the node.</summary>
public sealed class DrainOptions
{
    public const string Section = "Gateway:Drain";

    /// <summary>Window a drain (command without deadline, or SIGTERM) spreads its reconnects over.</summary>
    public int WindowMs { get; set; } = 20_000;

    /// <summary>Window a <c>shed</c> (rebalance) spreads its reconnects over when the command names none.</summary>
    public int ShedWindowMs { get; set; } = 5_000;

    /// <summary>Upper bound of the random <c>after_ms</c> told to each client, spreading reconnects further.</summary>
    public int MaxReconnectDelayMs { get; set; } = 1_000;
}
