using System.Globalization;

namespace PubSubGateway.LoadTest.Reporting.Charts;

/// <summary>A run as the chart sees it: names for the legend and headings, and its time series.</summary>
/// <param name="Name">Legend name: the target, plus the label when there is one.</param>
/// <param name="Setup">Scenario, clients and rate, for the title.</param>
/// <param name="Description">One line with the configuration and the overall outcome.</param>
/// <param name="LatencyName">What the latencies measure, e.g. "end-to-end latency".</param>
/// <param name="RateName">What <see cref="LatencyPoint.PerSecond"/> counts, e.g. "deliveries/s".</param>
/// <param name="TimeName">What the x axis counts from.</param>
internal sealed record ChartRun(
    string Name,
    string Setup,
    string Description,
    string LatencyName,
    string RateName,
    string TimeName,
    double IntervalSeconds,
    IReadOnlyList<LatencyPoint> Points)
{
    private const string SincePublish = "seconds since the first measured publish";

    public static ChartRun From(RunResult r) => new(
        NameOf(r.Target, r.Label),
        Invariant($"{r.Scenario}, {r.Subscribers:N0} subscribers, {r.Topics:N0} topic{(r.Topics == 1 ? "" : "s")}, {r.TargetRate:N0} msg/s"),
        Invariant($"{r.Scenario} → {r.Target}: {r.Connected:N0}/{r.Subscribers:N0} subscribers, {r.Topics:N0} topic{(r.Topics == 1 ? "" : "s")}, {r.TargetRate:N0} msg/s for {r.DurationSeconds:0.#} s, {r.PayloadBytes} B, publisher {r.Publisher}{LabelSuffix(r.Label)}; {r.Delivered:N0}/{r.ExpectedDeliveries:N0} delivered, lost {r.Lost:N0}, p50 {r.Latency.P50Ms:0.00} ms, p99 {r.Latency.P99Ms:0.00} ms overall; started {r.StartedUtc:u}"),
        "end-to-end latency",
        "deliveries/s",
        SincePublish,
        r.IntervalSeconds,
        r.Series);

    public static ChartRun From(SoakResult r) => new(
        NameOf(r.Target, r.Label),
        Invariant($"soak, {r.Subscribers:N0} subscribers, {r.TargetRate:N0} msg/s"),
        Invariant($"soak → {r.Target}: {r.Connected:N0}/{r.Subscribers:N0} subscribers, {r.TargetRate:N0} msg/s for {r.DurationSeconds:0.#} s{LabelSuffix(r.Label)}; {r.Delivered:N0}/{r.ExpectedDeliveries:N0} delivered, lost {r.Lost:N0}, p50 {r.Latency.P50Ms:0.00} ms, p99 {r.Latency.P99Ms:0.00} ms overall; started {r.StartedUtc:u}"),
        "end-to-end latency",
        "deliveries/s",
        SincePublish,
        r.IntervalSeconds,
        r.Series);

    public static ChartRun From(ChurnResult r) => new(
        NameOf(r.Target, r.Label),
        Invariant($"churn, {r.Clients:N0} clients"),
        Invariant($"churn → {r.Target}: {r.Clients:N0} clients for {r.DurationSeconds:0.#} s, stay {r.StayMinSeconds:0.###}–{r.StayMaxSeconds:0.###} s, {r.Rate:N0} msg/s background{LabelSuffix(r.Label)}; {r.Connects:N0} connects ({r.ConnectsPerSecond:N0}/s), connect→ack p50 {r.ConnectToAck.P50Ms:0.00} ms, p99 {r.ConnectToAck.P99Ms:0.00} ms overall; started {r.StartedUtc:u}"),
        "connect → ack latency",
        "connects/s",
        "seconds since the storm began",
        r.IntervalSeconds,
        r.Series);

    private static string NameOf(string target, string? label) => label is null ? target : $"{target} ({label})";

    private static string LabelSuffix(string? label) => label is null ? "" : $" [{label}]";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
