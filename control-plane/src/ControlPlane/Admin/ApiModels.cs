using System.Text.Json.Serialization;
using PubSubGateway.Cluster;
using PubSubGateway.ControlPlane.Registry;

namespace PubSubGateway.ControlPlane.Admin;

internal sealed record ApiError(
    [property: JsonPropertyName("error")] string Error,
    [property: JsonPropertyName("message")] string Message);

/// <summary>A node as the admin API shows it: its last heartbeat plus how old that heartbeat is here.</summary>
internal sealed record NodeView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("url")] string Url,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("connections")] int Connections,
    [property: JsonPropertyName("subscriptions")] long Subscriptions,
    [property: JsonPropertyName("topics")] long Topics,
    [property: JsonPropertyName("version")] string Version,
    [property: JsonPropertyName("started_at")] DateTimeOffset StartedAt,
    [property: JsonPropertyName("heartbeat_at")] DateTimeOffset HeartbeatAt,
    [property: JsonPropertyName("heartbeat_age_ms")] long HeartbeatAgeMs)
{
    public static NodeView From(NodeEntry entry)
    {
        var h = entry.Heartbeat;
        var age = (long)System.Diagnostics.Stopwatch.GetElapsedTime(entry.SeenAtTicks).TotalMilliseconds;
        return new NodeView(h.Id, h.Url!, h.State, h.Connections, h.Subscriptions, h.Topics, h.Version, h.StartedAt, h.HeartbeatAt, age);
    }
}

internal sealed record NodeList([property: JsonPropertyName("nodes")] IReadOnlyList<NodeView> Nodes);

internal sealed record CommandAccepted(
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("state")] string State,
    [property: JsonPropertyName("deadline_ms")] int? DeadlineMs = null);

internal sealed record ShedPlan(
    [property: JsonPropertyName("node")] string Node,
    [property: JsonPropertyName("connections")] int Connections,
    [property: JsonPropertyName("shed")] int Shed,
    [property: JsonPropertyName("accepted")] bool Accepted);

internal sealed record RebalanceResult(
    [property: JsonPropertyName("mean")] double Mean,
    [property: JsonPropertyName("tolerance")] double Tolerance,
    [property: JsonPropertyName("window_ms")] int WindowMs,
    [property: JsonPropertyName("moves")] IReadOnlyList<ShedPlan> Moves);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ApiError))]
[JsonSerializable(typeof(NodeView))]
[JsonSerializable(typeof(NodeList))]
[JsonSerializable(typeof(CommandAccepted))]
[JsonSerializable(typeof(RebalanceResult))]
[JsonSerializable(typeof(NodeCommand))]
[JsonSerializable(typeof(NodeCommandReply))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
