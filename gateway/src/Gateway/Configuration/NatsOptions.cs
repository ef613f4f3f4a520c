namespace PubSubGateway.Configuration;

/// <summary>Settings under <c>Nats:</c>. Without <see cref="Url"/> the node runs single-node on an in-process bus.</summary>
public sealed class NatsOptions
{
    public const string Section = "Nats";

    /// <summary>One URL or a comma-separated list (<c>nats://a:4222,nats://b:4222</c>).</summary>
    public string? Url { get; set; }

    /// <summary>Messages buffered per NATS subscription before NATS.Net drops (counted as <c>nats_pending</c> drops).</summary>
    public int SubscriptionPendingCapacity { get; set; } = 65_536;

    public int ConnectTimeoutMs { get; set; } = 2_000;
}
