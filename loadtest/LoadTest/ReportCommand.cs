using System.Text.Json;
using PubSubGateway.LoadTest.Reporting;
using PubSubGateway.LoadTest.Reporting.Charts;

namespace PubSubGateway.LoadTest;

/// <summary>
/// <c>report [--chart FILE.html] FILE.json...</c>: the Markdown table of fanout/topics results
/// (median per configuration; soak and churn results print their own tables), and optionally one
/// chart overlaying every run's latency over time.
/// </summary>
internal static class ReportCommand
{
    public const string Usage = """
        usage: LoadTest report [options] FILE.json...
          Markdown table of fanout/topics results (median per configuration); soak and churn results
          print their own table.
          --chart FILE.html        also write one chart overlaying every run's latency and rate over
                                   time (e.g. gateway vs nats-ws), a colour per run
          --percentiles LIST       comma-separated, among p50,p90,p99,max (default p99; all four for one run)
          --linear                 linear latency axis (default logarithmic)
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter progress)
    {
        if (args.Contains("--help"))
        {
            await output.WriteLineAsync(Usage);
            return LoadTestCommand.Ok;
        }

        string? chart = null;
        string[]? percentiles = null;
        var linear = false;
        var files = new List<string>();
        var errors = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--chart" when i + 1 < args.Length:
                    chart = args[++i];
                    break;
                case "--percentiles" when i + 1 < args.Length:
                    percentiles = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    break;
                case "--linear":
                    linear = true;
                    break;
                case var a when a.StartsWith("--", StringComparison.Ordinal):
                    errors.Add($"unknown option {a} (or it needs a value)");
                    break;
                default:
                    files.Add(args[i]);
                    break;
            }
        }

        if (files.Count == 0)
        {
            errors.Add("no result files given");
        }

        if (percentiles is not null && (percentiles.Length == 0 || percentiles.Except(LatencyChart.Percentiles).Any()))
        {
            errors.Add($"--percentiles must be among {string.Join(",", LatencyChart.Percentiles)} (got '{string.Join(",", percentiles)}')");
        }

        if (errors.Count > 0)
        {
            await progress.WriteLineAsync("invalid arguments:\n  " + string.Join("\n  ", errors) + "\n\n" + Usage);
            return LoadTestCommand.BadArguments;
        }

        var runs = new List<RunResult>();
        var charted = new List<ChartRun>();
        foreach (var path in files)
        {
            try
            {
                switch (await ReadAsync(path))
                {
                    case RunResult r:
                        runs.Add(r);
                        charted.Add(ChartRun.From(r));
                        break;
                    case SoakResult s:
                        await output.WriteLineAsync(s.ToMarkdown() + "\n");
                        charted.Add(ChartRun.From(s));
                        break;
                    case ChurnResult c:
                        await output.WriteLineAsync(c.ToMarkdown());
                        charted.Add(ChartRun.From(c));
                        break;
                }
            }
            catch (Exception ex) when (ex is IOException or JsonException or InvalidDataException or UnauthorizedAccessException)
            {
                await progress.WriteLineAsync($"{path}: {ex.Message}");
                return LoadTestCommand.Failed;
            }
        }

        if (runs.Count > 0)
        {
            await output.WriteLineAsync(MarkdownTable.Render(runs));
        }

        if (chart is not null)
        {
            await LatencyChart.WriteAsync(chart, charted, percentiles, !linear);
            await progress.WriteLineAsync($"chart of {charted.Count} run{(charted.Count == 1 ? "" : "s")} written to {chart}");
        }

        return LoadTestCommand.Ok;
    }

    /// <summary>A fanout/topics <see cref="RunResult"/>, a <see cref="SoakResult"/> or a <see cref="ChurnResult"/>, told apart by their fields.</summary>
    internal static async Task<object> ReadAsync(string path)
    {
        await using var file = File.OpenRead(path);
        using var doc = await JsonDocument.ParseAsync(file);
        var root = doc.RootElement;
        object? result = root.ValueKind != JsonValueKind.Object ? null
            : root.TryGetProperty("scenario", out _) ? root.Deserialize(ResultJson.Default.RunResult)
            : root.TryGetProperty("intervals", out _) ? root.Deserialize(ChurnSoakJson.Default.SoakResult)
            : root.TryGetProperty("connectToAck", out _) ? root.Deserialize(ChurnSoakJson.Default.ChurnResult)
            : null;
        return result ?? throw new InvalidDataException("not a fanout, topics, soak or churn result");
    }
}
