namespace PubSubGateway.ControlPlane.Configuration;

/// <summary>Settings under <c>ControlPlane:</c>, validated at start by <see cref="ControlPlaneOptionsValidator"/>.</summary>
public sealed class ControlPlaneOptions
{
    public const string Section = "ControlPlane";

    /// <summary>Bearer token for the admin API. Without it the admin API answers loopback callers only.</summary>
    public string? AdminToken { get; set; }

    /// <summary>KV bucket the gateway nodes heartbeat into (<c>Gateway:Cluster:Bucket</c> on the nodes).</summary>
    public string Bucket { get; set; } = "gateway-nodes";

    /// <summary>A node whose entry is older than this is gone (nats-server 2.9 emits no event when MaxAge expires an entry).</summary>
    public int NodeTtlMs { get; set; } = 6_000;

    /// <summary>How long an admin command waits for the node's reply.</summary>
    public int CommandTimeoutMs { get; set; } = 3_000;

    public RouterOptions Router { get; set; } = new();

    public RebalanceOptions Rebalance { get; set; } = new();
}

public sealed class RouterOptions
{
    /// <summary>
    /// Idle time after which YARP closes a proxied request or WebSocket. YARP's default of 100 s
    /// would cut quiet WebSockets whose pings are less frequent; nodes ping every 15 s by default.
    /// </summary>
    public int ActivityTimeoutSeconds { get; set; } = 3_600;
}

public sealed class RebalanceOptions
{
    /// <summary>A node sheds only when it holds more than the mean by this percentage (and at least one connection).</summary>
    public int TolerancePercent { get; set; } = 10;

    /// <summary>Window a node spreads its shed reconnects over.</summary>
    public int ShedWindowMs { get; set; } = 5_000;

    /// <summary>Rebalance automatically when a node joins (after <see cref="JoinDelayMs"/>); one replica acts per join.</summary>
    public bool OnJoin { get; set; }

    /// <summary>Wait after a join before planning, so the new node is active and counts are fresh.</summary>
    public int JoinDelayMs { get; set; } = 3_000;

    /// <summary>KV bucket where replicas claim join events, so exactly one of them rebalances.</summary>
    public string ClaimBucket { get; set; } = "gateway-rebalance";
}

/// <summary>Settings under <c>Nats:</c> (same key as the gateway nodes).</summary>
public sealed class ControlPlaneNatsOptions
{
    public const string Section = "Nats";

    public string? Url { get; set; }
}
