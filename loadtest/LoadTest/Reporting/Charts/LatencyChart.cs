using System.Globalization;
using System.Text;

namespace PubSubGateway.LoadTest.Reporting.Charts;

/// <summary>
/// A self-contained HTML page (inline SVG and CSS; no script, no external resource) with two
/// panels: latency percentiles per interval, and the interval rate (deliveries/s; connects/s for
/// churn). One run: a line per percentile. Several runs (<c>report --chart</c>): a colour per run
/// and a dash pattern per percentile, p99 only unless asked otherwise.
/// </summary>
internal static class LatencyChart
{
    public static readonly IReadOnlyList<string> Percentiles = ["p50", "p90", "p99", "max"];

    private static readonly string[] PercentileColors = ["#1f77b4", "#2ca02c", "#ff7f0e", "#d62728"];
    private static readonly string?[] PercentileDashes = ["2,3", "7,3", null, "1,2"];
    private static readonly string[] RunColors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];

    /// <param name="percentiles">Subset of <see cref="Percentiles"/>; default all four for one run, p99 for several.</param>
    /// <param name="logarithmic">Latency axis scale (the rate axis is always linear from 0).</param>
    public static string Render(IReadOnlyList<ChartRun> runs, IReadOnlyList<string>? percentiles = null, bool logarithmic = true)
    {
        ArgumentOutOfRangeException.ThrowIfZero(runs.Count);
        percentiles ??= runs.Count == 1 ? Percentiles : ["p99"];
        var unknown = percentiles.Except(Percentiles).ToList();
        if (unknown.Count > 0 || percentiles.Count == 0)
        {
            throw new ArgumentException($"percentiles must be among {string.Join(", ", Percentiles)} (got '{string.Join(",", percentiles)}')", nameof(percentiles));
        }

        var names = DistinctNames(runs);
        var single = runs.Count == 1;
        var latencyLines = new List<PlotLine>();
        var rateLines = new List<PlotLine>();
        for (var r = 0; r < runs.Count; r++)
        {
            foreach (var pct in percentiles)
            {
                var p = IndexOf(pct);
                latencyLines.Add(new PlotLine(
                    $"{r}:{pct}",
                    single ? pct : $"{names[r]} {pct}",
                    single ? PercentileColors[p] : RunColors[r % RunColors.Length],
                    single || percentiles.Count == 1 ? null : PercentileDashes[p],
                    runs[r].Points.Select(point => (point.EndSeconds, Value(point, pct))).ToList()));
            }

            rateLines.Add(new PlotLine(
                $"{r}:rate",
                single ? runs[r].RateName : names[r],
                single ? "#444" : RunColors[r % RunColors.Length],
                null,
                runs[r].Points.Select(point => (point.EndSeconds, point.PerSecond)).ToList()));
        }

        var time = Axis.Linear(0, runs.SelectMany(r => r.Points).Select(p => p.EndSeconds).Where(double.IsFinite).DefaultIfEmpty(1).Max(), roundOut: false);
        var latencies = latencyLines.SelectMany(l => l.Points).Select(p => p.Y).Where(v => double.IsFinite(v) && (!logarithmic || v > 0)).ToList();
        var latencyAxis = logarithmic
            ? Axis.Log(latencies.DefaultIfEmpty(1).Min(), latencies.DefaultIfEmpty(10).Max())
            : Axis.Linear(0, latencies.DefaultIfEmpty(1).Max());
        var rateAxis = Axis.Linear(0, rateLines.SelectMany(l => l.Points).Select(p => p.Y).Where(double.IsFinite).DefaultIfEmpty(1).Max(), Axis.Si);

        var first = runs[0];
        var sameSetup = runs.All(r => r.Setup == first.Setup);
        var title = single ? $"{first.Setup} → {first.Name}: {first.LatencyName} over time"
            : sameSetup ? $"{first.Setup}: {first.LatencyName} over time, {string.Join(" vs ", names)}"
            : $"{first.LatencyName} over time: {string.Join(" vs ", names)}";
        var intervals = runs.Select(r => r.IntervalSeconds).Distinct().ToList();
        var per = intervals.Count == 1 && intervals[0] > 0 ? string.Create(CultureInfo.InvariantCulture, $" per {intervals[0]:0.###} s interval") : " per interval";

        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
            .Append("<title>").Append(SvgPanel.Escape(title)).Append("</title>\n")
            .Append("<style>body{font-family:sans-serif;margin:16px;color:#222;max-width:980px}h1{font-size:18px}p,li{font-size:13px}")
            .Append("svg{display:block;margin:12px 0;border:1px solid #ddd}table{border-collapse:collapse;font-size:12px;margin:6px 0}")
            .Append("th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}summary{cursor:pointer;font-size:13px}</style>\n</head>\n<body>\n")
            .Append("<h1>").Append(SvgPanel.Escape(title)).Append("</h1>\n<ul class=\"runs\">\n");
        foreach (var run in runs)
        {
            html.Append("<li>").Append(SvgPanel.Escape(run.Description)).Append("</li>\n");
        }

        html.Append("</ul>\n");
        SvgPanel.Render(
            html,
            "latency",
            $"{first.LatencyName}, {string.Join(" / ", percentiles)}{per}",
            first.TimeName,
            logarithmic ? "ms (log scale)" : "ms",
            time,
            latencyAxis,
            latencyLines,
            " ms",
            height: 400);
        SvgPanel.Render(html, "rate", first.RateName + per, first.TimeName, first.RateName, time, rateAxis, rateLines, "/s", height: 260);

        html.Append("<p>Each point is one interval, plotted at its end; a gap is an interval without a sample. Percentiles are of that interval alone (HdrHistogram, 3 significant digits).</p>\n");
        for (var r = 0; r < runs.Count; r++)
        {
            AppendTable(html, names[r], runs[r]);
        }

        return html.Append("</body>\n</html>\n").ToString();
    }

    public static async Task WriteAsync(string path, IReadOnlyList<ChartRun> runs, IReadOnlyList<string>? percentiles = null, bool logarithmic = true) =>
        await File.WriteAllTextAsync(path, Render(runs, percentiles, logarithmic), Encoding.UTF8);

    internal static double Value(LatencyPoint point, string percentile) => percentile switch
    {
        "p50" => point.P50Ms,
        "p90" => point.P90Ms,
        "p99" => point.P99Ms,
        "max" => point.MaxMs,
        _ => throw new ArgumentOutOfRangeException(nameof(percentile), percentile, null),
    };

    private static int IndexOf(string percentile) => Percentiles.ToList().IndexOf(percentile);

    /// <summary>Legend names, made unique with a run number where two runs share one.</summary>
    private static List<string> DistinctNames(IReadOnlyList<ChartRun> runs)
    {
        var counts = runs.GroupBy(r => r.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return runs.Select((r, i) => counts[r.Name] > 1 ? $"{r.Name} #{i + 1}" : r.Name).ToList();
    }

    private static void AppendTable(StringBuilder html, string name, ChartRun run)
    {
        html.Append("<details><summary>").Append(SvgPanel.Escape(name))
            .Append(CultureInfo.InvariantCulture, $": {run.Points.Count} intervals</summary>\n<table>\n")
            .Append(CultureInfo.InvariantCulture, $"<tr><th>end s</th><th>s</th><th>samples</th><th>{SvgPanel.Escape(run.RateName)}</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>max ms</th></tr>\n");
        foreach (var p in run.Points)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{p.EndSeconds:0.0}</td><td>{p.Seconds:0.00}</td><td>{p.Count:N0}</td><td>{Cell(p.PerSecond, "N0")}</td><td>{Cell(p.P50Ms, "0.00")}</td><td>{Cell(p.P90Ms, "0.00")}</td><td>{Cell(p.P99Ms, "0.00")}</td><td>{Cell(p.MaxMs, "0.0")}</td></tr>\n");
        }

        html.Append("</table>\n</details>\n");
    }

    private static string Cell(double value, string format) => double.IsFinite(value) ? value.ToString(format, CultureInfo.InvariantCulture) : "–";
}
