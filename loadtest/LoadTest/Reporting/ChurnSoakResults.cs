using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace PubSubGateway.LoadTest.Reporting;

/// <summary>The <c>churn</c> scenario: a connect/disconnect storm and whether the server returns to idle after it.</summary>
internal sealed record ChurnResult
{
    public required DateTimeOffset StartedUtc { get; init; }

    public string? Label { get; init; }

    /// <summary>What the clients connected to (--target); results from before it was recorded read as gateway.</summary>
    public string Target { get; init => field = value ?? "gateway"; } = "gateway";

    public required string Url { get; init; }

    /// <summary>Concurrent clients, each cycling connect → subscribe → stay → disconnect.</summary>
    public required int Clients { get; init; }

    public required double DurationSeconds { get; init; }

    public required double StayMinSeconds { get; init; }

    public required double StayMaxSeconds { get; init; }

    /// <summary>Length of the intervals of <see cref="Series"/> (--interval).</summary>
    public double IntervalSeconds { get; init; }

    /// <summary>Background publishing to the topic, msg/s (0 = none).</summary>
    public required double Rate { get; init; }

    public required long Attempts { get; init; }

    /// <summary>Connections upgraded and subscribed (ack received).</summary>
    public required long Connects { get; init; }

    public required double ConnectsPerSecond { get; init; }

    public required long FailedRefused { get; init; }

    public required long FailedHttp429 { get; init; }

    public required long FailedClose1013 { get; init; }

    public required long FailedTimeout { get; init; }

    public required long FailedOther { get; init; }

    public string? FirstOtherError { get; init; }

    /// <summary>Subscribed connections the server closed (or that broke) before their stay ended.</summary>
    public required long ClosedEarly { get; init; }

    /// <summary>Connect start (TCP) → sub ack.</summary>
    public required LatencySummary ConnectToAck { get; init; }

    /// <summary>sub sent → ack.</summary>
    public required LatencySummary SubToAck { get; init; }

    /// <summary>connect → ack (p50/p90/p99/max) and connects/s per interval: what --chart plots.</summary>
    public IReadOnlyList<LatencyPoint> Series { get; init => field = value ?? []; } = [];

    public required long Delivered { get; init; }

    public required LatencySummary DeliveryLatency { get; init; }

    /// <summary>The highest <c>gateway_connections</c> seen by the once-a-second scrape during the storm.</summary>
    public double? ServerConnectionsPeak { get; init; }

    /// <summary><c>gateway_connections</c> after every client has disconnected (must be ~0).</summary>
    public double? ServerConnectionsAtEnd { get; init; }

    /// <summary>Time from the last client disconnect until the gauge read 0 (null if it never did within the drain timeout).</summary>
    public double? SecondsToZeroConnections { get; init; }

    public double? ServerConnectionsOpened { get; init; }

    public double? ServerConnectionsRejected { get; init; }

    public long? ServerRssBeforeKiB { get; init; }

    public long? ServerRssEndKiB { get; init; }

    public long? ServerPeakRssKiB { get; init; }

    public double? ServerCpuSeconds { get; init; }

    public required double LoadAverageAfter { get; init; }

    public string ToMarkdown() => new StringBuilder()
        .Append("| clients | s | stay s | pub msg/s | connects | connects/s | refused | 429 | 1013 | timeout | other | closed early | connect→ack p50/p99 ms | sub→ack p50/p99 ms | delivered | srv conns peak | srv conns at end | s to 0 | srv RSS before/end/peak MiB | srv CPU-s | load avg |\n")
        .Append("|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---|---:|---:|\n")
        .Append(CultureInfo.InvariantCulture, $"| {Clients:N0} | {DurationSeconds:0} | {StayMinSeconds:0.###}–{StayMaxSeconds:0.###} | {Rate:N0} | {Connects:N0} | {ConnectsPerSecond:N0} | {FailedRefused:N0} | {FailedHttp429:N0} | {FailedClose1013:N0} | {FailedTimeout:N0} | {FailedOther:N0} | {ClosedEarly:N0} | {ConnectToAck.P50Ms:0.00} / {ConnectToAck.P99Ms:0.00} | {SubToAck.P50Ms:0.00} / {SubToAck.P99Ms:0.00} | {Delivered:N0} | {ServerConnectionsPeak:N0} | {ServerConnectionsAtEnd:N0} | {SecondsToZeroConnections:0.00} | {ServerRssBeforeKiB / 1024.0:0} / {ServerRssEndKiB / 1024.0:0} / {ServerPeakRssKiB / 1024.0:0} | {ServerCpuSeconds:0.00} | {LoadAverageAfter:0.0} |\n")
        .ToString();
}

/// <summary>One sampling interval of the <c>soak</c> scenario.</summary>
internal sealed record SoakInterval(
    int Index,
    double EndSeconds,
    double PublishedPerSecond,
    double DeliveriesPerSecond,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    long? ServerRssKiB,
    double? OutboundQueueBytes,
    int OpenClients);

/// <summary>The <c>soak</c> scenario: steady fan-out for a long time, sampled per interval, and the drift first → last.</summary>
internal sealed record SoakResult
{
    public required DateTimeOffset StartedUtc { get; init; }

    public string? Label { get; init; }

    /// <summary>What the clients connected to (--target); results from before it was recorded read as gateway.</summary>
    public string Target { get; init => field = value ?? "gateway"; } = "gateway";

    public required string Url { get; init; }

    public required int Subscribers { get; init; }

    public required int Connected { get; init; }

    public required double TargetRate { get; init; }

    public required double DurationSeconds { get; init; }

    public required double IntervalSeconds { get; init; }

    public required long Published { get; init; }

    public required long ExpectedDeliveries { get; init; }

    public required long Delivered { get; init; }

    public required long Lost { get; init; }

    public required long Duplicates { get; init; }

    public required int ClientsDisconnected { get; init; }

    public required bool Drained { get; init; }

    public required LatencySummary Latency { get; init; }

    public required IReadOnlyList<SoakInterval> Intervals { get; init; }

    /// <summary>Latency (p50/p90/p99/max) and deliveries/s of the same intervals, as fanout records them: what --chart plots.</summary>
    public IReadOnlyList<LatencyPoint> Series { get; init => field = value ?? []; } = [];

    /// <summary>Server RSS of the last interval − the first.</summary>
    public long? RssDriftKiB { get; init; }

    /// <summary>p99 of the last interval − the first.</summary>
    public required double P99DriftMs { get; init; }

    public double? ServerCpuSeconds { get; init; }

    public double? ServerCpuSecondsPerMillionDeliveries { get; init; }

    public required double LoadAverageAfter { get; init; }

    public string ToMarkdown()
    {
        var text = new StringBuilder()
            .Append("| interval | end s | pub msg/s | deliveries/s | p50 ms | p99 ms | max ms | srv RSS MiB | outbound queue KiB | open clients |\n")
            .Append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        foreach (var i in Intervals)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {i.Index} | {i.EndSeconds:0.0} | {i.PublishedPerSecond:N0} | {i.DeliveriesPerSecond:N0} | {i.P50Ms:0.00} | {i.P99Ms:0.00} | {i.MaxMs:0.0} | {i.ServerRssKiB / 1024.0:0.0} | {i.OutboundQueueBytes / 1024.0:0.0} | {i.OpenClients:N0} |\n");
        }

        return text.Append('\n')
            .Append(CultureInfo.InvariantCulture, $"soak: {Connected:N0}/{Subscribers:N0} subscribers, {TargetRate:N0} msg/s for {DurationSeconds:0} s, {Intervals.Count} intervals of {IntervalSeconds:0.#} s; {Delivered:N0}/{ExpectedDeliveries:N0} delivered, lost {Lost:N0}, duplicates {Duplicates:N0}, closed {ClientsDisconnected:N0}; ")
            .Append(CultureInfo.InvariantCulture, $"p50 {Latency.P50Ms:0.00} ms, p99 {Latency.P99Ms:0.00} ms overall; drift first → last interval: RSS {(RssDriftKiB is { } r ? (r / 1024.0).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture) + " MiB" : "–")}, p99 {P99DriftMs.ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture)} ms; server CPU {ServerCpuSeconds:0.00} s ({ServerCpuSecondsPerMillionDeliveries:0.00} per M deliveries){(Drained ? "" : " (NOT drained before the timeout)")}")
            .ToString();
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ChurnResult))]
[JsonSerializable(typeof(SoakResult))]
internal sealed partial class ChurnSoakJson : JsonSerializerContext;
