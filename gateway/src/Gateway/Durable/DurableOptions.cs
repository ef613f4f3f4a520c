namespace PubSubGateway.Durable;

/// <summary>
/// Settings under <c>Gateway:Durable:</c>. Topics matching a pattern here are captured by one
/// JetStream stream: their messages carry the stream sequence (<c>seq</c>) and a <c>sub</c> with
/// <c>since</c> resumes without a gap. Other topics stay on plain NATS and cost nothing extra.
/// </summary>
public sealed class DurableOptions
{
    public const string Section = "Gateway:Durable";

    /// <summary>Topic patterns (e.g. <c>orders.&gt;</c>, <c>chat.*</c>). Empty: no durable topics. Needs <c>Nats:Url</c>.</summary>
    public List<string> Patterns { get; set; } = [];

    public string StreamName { get; set; } = "GATEWAY";

    /// <summary>How long messages are kept; a <c>since</c> older than this gets <c>history_gone</c>.</summary>
    public int MaxAgeSeconds { get; set; } = 3_600;

    /// <summary>Messages kept per topic (stream <c>MaxMsgsPerSubject</c>).</summary>
    public long MaxMessagesPerTopic { get; set; } = 10_000;

    /// <summary>Stream replicas (3 on a 3-node NATS cluster).</summary>
    public int Replicas { get; set; } = 1;

    /// <summary>Window in which a repeated <c>Nats-Msg-Id</c> is recognised as a retry and not stored twice.</summary>
    public int DuplicateWindowSeconds { get; set; } = 120;

    /// <summary>Messages fetched per request while replaying history to a resuming client.</summary>
    public int ReplayBatch { get; set; } = 256;
}
