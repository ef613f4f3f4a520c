using PubSubGateway.LoadTest.Cli;
using PubSubGateway.LoadTest.Reporting;
using PubSubGateway.LoadTest.Scenarios;
using PubSubGateway.LoadTest.Tests.Infrastructure;
using PubSubGateway.LoadTest.Tests.Reporting.Charts;

namespace PubSubGateway.LoadTest.Tests.Scenarios;

/// <summary>
/// The CI smoke runs of the load-test tool against a real nats-server and a real gateway node, through
/// the same code the command line uses, so the tool can't rot.
/// </summary>
public sealed class SmokeTests
{
    [Fact]
    public async Task Fanout_smoke_through_nats_delivers_every_message_exactly_once()
    {
        await using var nats = await LocalNatsServer.StartAsync();
        await using var gateway = await InProcessGateway.StartAsync(nats.Url);

        var result = await RunAsync("fanout", "--smoke", "--url", gateway.WebSocketUrl, "--nats", nats.Url, "--metrics", gateway.MetricsUrl);

        Assert.Equal(20, result.Connected);
        Assert.Equal(400, result.Published);
        AssertEveryMessageOnce(result);
        Assert.NotNull(result.Server);
        Assert.True(result.Server.Delivered >= result.Delivered, $"server counted {result.Server.Delivered} deliveries, clients {result.Delivered}");
        Assert.True(result.Latency.Count == result.Delivered);
        AssertSeriesAccountsForEveryDelivery(result);
    }

    [Fact]
    public async Task Topics_smoke_through_http_publish_delivers_every_message_exactly_once()
    {
        await using var gateway = await InProcessGateway.StartAsync(natsUrl: null);

        var result = await RunAsync("topics", "--smoke", "--publisher", "http", "--url", gateway.WebSocketUrl, "--metrics", gateway.MetricsUrl);

        Assert.Equal(20, result.Topics);
        Assert.Equal(20, result.Connected);
        AssertEveryMessageOnce(result);
    }

    [Fact]
    public async Task Fanout_smoke_against_the_nats_websocket_peer_delivers_every_message_exactly_once()
    {
        await using var nats = await LocalNatsServer.StartAsync(webSocket: true);

        var result = await RunAsync("fanout", "--smoke", "--target", "nats-ws", "--url", nats.WebSocketUrl!, "--nats", nats.Url);

        Assert.Equal("nats-ws", result.Target);
        Assert.Equal(20, result.Connected);
        AssertEveryMessageOnce(result);
        AssertSeriesAccountsForEveryDelivery(result);
    }

    [Fact]
    public async Task Command_line_smoke_exits_zero_and_writes_json_and_a_chart_of_its_series()
    {
        await using var nats = await LocalNatsServer.StartAsync();
        await using var gateway = await InProcessGateway.StartAsync(nats.Url);
        var json = Path.Combine(Path.GetTempPath(), $"loadtest-{Guid.NewGuid():N}.json");
        var chart = Path.ChangeExtension(json, ".html");
        var overlay = Path.ChangeExtension(json, ".overlay.html");
        var output = new StringWriter();
        try
        {
            var exit = await LoadTestCommand.RunAsync(
                ["fanout", "--smoke", "--quiet", "--url", gateway.WebSocketUrl, "--nats", nats.Url, "--json", json, "--chart", chart], output, TextWriter.Null);

            Assert.Equal(LoadTestCommand.Ok, exit);
            Assert.Contains("| fanout | gateway | nats | 20 |", output.ToString());
            var written = await ResultJson.ReadAsync(json);
            Assert.Equal(0, written.Lost);
            Assert.Equal(1, written.IntervalSeconds);
            AssertSeriesAccountsForEveryDelivery(written);

            var panel = ChartXml.Panel(ChartXml.Parse(await File.ReadAllTextAsync(chart)), "latency");
            var plotted = ChartXml.Segments(panel, "0:p99").Sum(s => s.Count) + ChartXml.Markers(panel, "0:p99").Count(m => !ChartXml.Segments(panel, "0:p99").Any(s => s.Contains(m)));
            Assert.Equal(written.Series.Count(p => !double.IsNaN(p.P99Ms)), plotted);

            // The same run twice through report: two overlaid p99 lines.
            exit = await LoadTestCommand.RunAsync(["report", "--chart", overlay, json, json], TextWriter.Null, TextWriter.Null);

            Assert.Equal(LoadTestCommand.Ok, exit);
            var overlaid = ChartXml.Panel(ChartXml.Parse(await File.ReadAllTextAsync(overlay)), "latency");
            Assert.Equal(plotted, ChartXml.Markers(overlaid, "1:p99").Count);
        }
        finally
        {
            File.Delete(json);
            File.Delete(chart);
            File.Delete(overlay);
        }
    }

    [Fact]
    public async Task Command_line_rejects_unknown_options_and_remote_targets()
    {
        var errors = new StringWriter();

        var exit = await LoadTestCommand.RunAsync(["fanout", "--subscriber", "10", "--url", "ws://10.0.0.1:8080/ws"], TextWriter.Null, errors);

        Assert.Equal(LoadTestCommand.BadArguments, exit);
        Assert.Contains("unknown option --subscriber", errors.ToString());
        Assert.Contains("--url must point at this machine", errors.ToString());
    }

    private static async Task<RunResult> RunAsync(string scenario, params string[] args)
    {
        var (options, errors) = RunOptions.Parse(scenario, [.. args, "--quiet"]);
        Assert.True(options is not null, string.Join("; ", errors));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        return await new PubSubScenario(options, TextWriter.Null).RunAsync(timeout.Token);
    }

    /// <summary>One point per interval, in order, whose counts add up to every latency recorded.</summary>
    private static void AssertSeriesAccountsForEveryDelivery(RunResult result)
    {
        Assert.NotEmpty(result.Series);
        Assert.Equal(result.Latency.Count, result.Series.Sum(p => p.Count));
        Assert.Equal(result.Series.Select(p => p.EndSeconds).Order(), result.Series.Select(p => p.EndSeconds));
        Assert.Contains(result.Series, p => p.Count > 0 && p.PerSecond > 0 && p.P50Ms <= p.P99Ms && p.P99Ms <= p.MaxMs);
    }

    private static void AssertEveryMessageOnce(RunResult result)
    {
        Assert.True(result.Drained, "not every client received every message before the drain timeout");
        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.Duplicates);
        Assert.Equal(0, result.OutOfOrder);
        Assert.Equal(result.ExpectedDeliveries, result.Delivered);
        Assert.Equal(0, result.ClientsDisconnected);
    }
}
