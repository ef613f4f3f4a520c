using System.Text.Json.Serialization;

namespace PubSubGateway.ControlPlane.Registry;

/// <summary>A node's heartbeat as the node writes it to the KV bucket (key = node id).</summary>
internal sealed record NodeHeartbeat(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("url")] string? Url,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("connections")] int Connections,
    [property: JsonPropertyName("subscriptions")] long Subscriptions,
    [property: JsonPropertyName("topics")] long Topics,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("started_at")] DateTimeOffset StartedAt,
    [property: JsonPropertyName("heartbeat_at")] DateTimeOffset HeartbeatAt,
    [property: JsonPropertyName("heartbeat_ms")] int HeartbeatMs,
    [property: JsonPropertyName("control_subject")] string ControlSubject);

/// <summary>A live node: its last heartbeat, the KV revision it came with and when this process saw it.</summary>
internal sealed record NodeEntry(NodeHeartbeat Heartbeat, ulong Revision, long SeenAtTicks)
{
    public const string Active = "active";
    public const string Draining = "draining";
    public const string Drained = "drained";

    public string Id => Heartbeat.Id;

    public bool IsActive => Heartbeat.State == Active;
}
