using System.Globalization;
using System.Text;

namespace PubSubGateway.LoadTest.Reporting;

/// <summary>
/// Results as a Markdown table. With several runs of the same configuration (scenario, publisher,
/// subscribers, topics, rate, payload) each cell is the median over those runs.
/// </summary>
internal static class MarkdownTable
{
    private static readonly (string Header, Func<RunResult, double> Value, string Format)[] Columns =
    [
        ("target msg/s", r => r.TargetRate, "N0"),
        ("published msg/s", r => r.PublishRate, "N0"),
        ("deliveries/s", r => r.DeliveriesPerSecond, "N0"),
        ("p50 ms", r => r.Latency.P50Ms, "0.00"),
        ("p99 ms", r => r.Latency.P99Ms, "0.00"),
        ("p99.9 ms", r => r.Latency.P999Ms, "0.00"),
        ("max ms", r => r.Latency.MaxMs, "0.0"),
        ("srv p50 ≤ ms", r => r.Server?.LatencyP50UpperBoundMs ?? double.NaN, "0.0"),
        ("srv p99 ≤ ms", r => r.Server?.LatencyP99UpperBoundMs ?? double.NaN, "0.0"),
        ("lost", r => r.Lost, "N0"),
        ("dup", r => r.Duplicates, "N0"),
        ("closed by srv", r => r.ClientsDisconnected, "N0"),
        ("drain s", r => r.DrainSeconds, "0.00"),
        ("srv B/delivery", r => r.Server?.AllocatedBytesPerDelivery ?? double.NaN, "0.00"),
        ("srv CPU-s/M", r => r.Server?.CpuSecondsPerMillionDeliveries ?? r.ServerProcess?.CpuSecondsPerMillionDeliveries ?? double.NaN, "0.00"),
        ("srv RSS MiB", r => r.ServerProcess is { } p ? p.RssKiB / 1024.0 : double.NaN, "0"),
        ("broker CPU-s/M", r => r.Broker?.CpuSecondsPerMillionDeliveries ?? double.NaN, "0.00"),
        ("client CPU-s/M", r => r.Client.CpuSecondsPerMillionDeliveries, "0.00"),
        ("load avg", r => r.LoadAverageAfter, "0.0"),
    ];

    public static string Render(IReadOnlyList<RunResult> results)
    {
        var text = new StringBuilder();
        text.Append("| scenario | target | publisher | subscribers | topics | payload B | runs | ")
            .AppendJoin(" | ", Columns.Select(c => c.Header)).Append(" |\n");
        text.Append("|---|---|---|---:|---:|---:|---:|").Append(string.Concat(Columns.Select(_ => "---:|"))).Append('\n');
        var groups = results
            .GroupBy(r => (r.Scenario, r.Target, r.Publisher, r.Subscribers, r.Topics, r.PayloadBytes, r.TargetRate))
            .OrderBy(g => g.Key.Scenario, StringComparer.Ordinal).ThenBy(g => g.Key.Target, StringComparer.Ordinal).ThenBy(g => g.Key.Subscribers).ThenBy(g => g.Key.TargetRate);
        foreach (var group in groups)
        {
            var runs = group.ToList();
            text.Append(CultureInfo.InvariantCulture, $"| {group.Key.Scenario} | {group.Key.Target} | {group.Key.Publisher} | {group.Key.Subscribers:N0} | {group.Key.Topics:N0} | {group.Key.PayloadBytes} | {runs.Count} |");
            foreach (var column in Columns)
            {
                var value = Median(runs.Select(column.Value));
                text.Append(' ').Append(Format(value, column.Format)).Append(" |");
            }

            text.Append('\n');
        }

        return text.ToString();
    }

    private static string Format(double value, string format) => value switch
    {
        double.NaN => "–",
        double.PositiveInfinity => "> top bucket",
        _ => value.ToString(format, CultureInfo.InvariantCulture),
    };

    public static double Median(IEnumerable<double> values)
    {
        var sorted = values.Where(v => !double.IsNaN(v)).Order().ToArray();
        if (sorted.Length == 0)
        {
            return double.NaN;
        }

        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
