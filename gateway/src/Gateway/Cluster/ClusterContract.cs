using System.Text.Json.Serialization;

namespace PubSubGateway.Cluster;

// The wire contract between a gateway node and the control plane: heartbeats in the
// `gateway-nodes` KV bucket, commands and replies on the node's control subject. This one file is
// compiled into both (ControlPlane.csproj links it), so the two sides cannot drift apart.

/// <summary>One node's entry in the <c>gateway-nodes</c> bucket (key = node id), rewritten every heartbeat.</summary>
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

/// <summary>A control command: <c>drain</c> (optional <c>deadline_ms</c>), <c>undrain</c>, <c>shed</c> (<c>count</c>, optional <c>window_ms</c>).</summary>
internal sealed record NodeCommand(
    [property: JsonPropertyName("cmd")] string? Cmd,
    [property: JsonPropertyName("deadline_ms")] int? DeadlineMs = null,
    [property: JsonPropertyName("count")] int? Count = null,
    [property: JsonPropertyName("window_ms")] int? WindowMs = null);

/// <summary>Reply to a command: <c>ok</c>, the node's state after it, and an error code (<c>wrong_state</c>, <c>bad_request</c>) when not ok.</summary>
internal sealed record NodeCommandReply(
    [property: JsonPropertyName("ok")] bool Ok,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("error")] string? Error = null,
    [property: JsonPropertyName("message")] string? Message = null,
    [property: JsonPropertyName("shedding")] int? Shedding = null);
