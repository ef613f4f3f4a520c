using System.Text.Json.Serialization;

namespace PubSubGateway.LoadTest.Reporting;

/// <summary>The <c>drain</c> scenario: one node drained under load, how fast it emptied and what the clients lost.</summary>
internal sealed record DrainResult
{
    public string Scenario { get; init; } = "drain";

    public required DateTimeOffset StartedUtc { get; init; }

    public string? Label { get; init; }

    public required IReadOnlyList<string> Urls { get; init; }

    public required int Subscribers { get; init; }

    public required int Connected { get; init; }

    public required int Topics { get; init; }

    /// <summary>True when every client saw a stream <c>seq</c> on its topic (durable); false for plain topics.</summary>
    public required bool Durable { get; init; }

    public required double TargetRate { get; init; }

    public required int PayloadBytes { get; init; }

    public required double ConnectSeconds { get; init; }

    public required string DrainedNode { get; init; }

    /// <summary><c>deadline_ms</c> sent with the drain; null = the node's own window.</summary>
    public int? DrainWindowMs { get; init; }

    /// <summary>Drain requests answered 504 <c>node_unreachable</c> before one was accepted (or the node was seen draining).</summary>
    public int DrainRequestTimeouts { get; init; }

    /// <summary>Per node before the drain and after the run: the registry's count and the clients' own count (from <c>hello</c>).</summary>
    public required IReadOnlyList<NodeCount> NodesBefore { get; init; }

    public required IReadOnlyList<NodeCount> NodesAfter { get; init; }

    /// <summary>Clients on the drained node when the drain was requested.</summary>
    public required int ClientsOnDrainedNode { get; init; }

    /// <summary>Drain request → the node's state is <c>drained</c> (admin API, polled every 100 ms). Null: not within --empty-timeout.</summary>
    public double? SecondsToDrained { get; init; }

    /// <summary>Drain request → the node's own <c>gateway_connections</c> is 0 (its /metrics, polled every 100 ms).</summary>
    public double? SecondsToZeroConnections { get; init; }

    /// <summary>Drain request → the last client of the drained node was subscribed on another node.</summary>
    public double? SecondsToLastClientMoved { get; init; }

    /// <summary>Clients of the drained node that ended on another node.</summary>
    public required int ClientsMoved { get; init; }

    /// <summary><c>reconnect</c> frames received, over all clients.</summary>
    public required long ReconnectFrames { get; init; }

    /// <summary>Clients subscribed again after leaving a node (reconnect frame or drop), over the whole run.</summary>
    public required long Reconnects { get; init; }

    /// <summary>Most re-subscriptions completed within one second (1 s buckets from the drain request).</summary>
    public required int MaxReconnectsPerSecond { get; init; }

    public required IReadOnlyList<int> ReconnectsPerSecond { get; init; }

    public required int MaxReconnectFramesPerSecond { get; init; }

    /// <summary>Connections that ended without a <c>reconnect</c> frame.</summary>
    public required long Drops { get; init; }

    /// <summary>New connections told to reconnect before their <c>sub</c> was acknowledged.</summary>
    public required long Bounces { get; init; }

    public required long FailedAttempts { get; init; }

    public string? FirstError { get; init; }

    public required long HistoryGone { get; init; }

    public required long CursorMismatches { get; init; }

    /// <summary>Reconnect frame → subscribed again (includes the <c>after_ms</c> wait).</summary>
    public required LatencySummary ReconnectGap { get; init; }

    /// <summary>Connect through the router → <c>sub</c> acknowledged, for the attempts that succeeded.</summary>
    public required LatencySummary ReconnectConnectToAck { get; init; }

    /// <summary><c>sub</c> with <c>since</c> sent → acknowledged (the node's history check and feed set-up), for the attempts that succeeded.</summary>
    public required LatencySummary ReconnectSubToAck { get; init; }

    public required long Published { get; init; }

    public required double PublishSeconds { get; init; }

    public required long ExpectedDeliveries { get; init; }

    public required long Delivered { get; init; }

    public required long Lost { get; init; }

    public required long Duplicates { get; init; }

    public required long OutOfOrder { get; init; }

    public required long StreamSeqRegressions { get; init; }

    /// <summary><c>msg</c> frames of topics the client had not subscribed to (a server bug; must be 0).</summary>
    public required long WrongTopicFrames { get; init; }

    public required int ClientsWithLoss { get; init; }

    /// <summary>True when every client had every message before --drain-timeout.</summary>
    public required bool AllDelivered { get; init; }

    /// <summary>Clients not subscribed at the end (still moving).</summary>
    public required int ClientsLeftBehind { get; init; }

    public required LatencySummary LatencyBefore { get; init; }

    public required LatencySummary LatencyDuring { get; init; }

    public required LatencySummary LatencyAfter { get; init; }

    public required double ClientCpuSeconds { get; init; }

    public required double LoadAverageBefore { get; init; }

    public required double LoadAverageAfter { get; init; }

    /// <summary>What <c>--fail-on-loss</c> checks: no loss, no duplicate, no wrong-topic frame, no client left behind, the node emptied.</summary>
    [JsonIgnore]
    public bool Clean => Lost == 0 && Duplicates == 0 && WrongTopicFrames == 0 && ClientsLeftBehind == 0 && AllDelivered && SecondsToDrained is not null;
}

/// <summary>One node's connections: as its heartbeat reports them (registry) and as the clients count them.</summary>
internal sealed record NodeCount(string Node, string State, int RegistryConnections, int Clients);

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(DrainResult))]
internal sealed partial class DrainJson : JsonSerializerContext;
