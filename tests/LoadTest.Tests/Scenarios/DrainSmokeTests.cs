using System.Text.Json;
using PubSubGateway.LoadTest.Cli;
using PubSubGateway.LoadTest.Payloads;
using PubSubGateway.LoadTest.Reporting;
using PubSubGateway.LoadTest.Scenarios;
using PubSubGateway.LoadTest.Tests.Infrastructure;

namespace PubSubGateway.LoadTest.Tests.Scenarios;

/// <summary>
/// The <c>drain</c> scenario against the real thing: nats-server with JetStream, three gateway nodes,
/// two control-plane replicas routing the clients, a drain through the admin API.
/// </summary>
public sealed class DrainSmokeTests
{
    private static readonly string[] DurableNode = ["--Gateway:Durable:Patterns:0", "bench.>", "--Gateway:Drain:WindowMs", "2000"];

    [Fact]
    public async Task Drain_smoke_moves_every_client_of_the_node_and_loses_or_duplicates_nothing_on_durable_topics()
    {
        await using var cluster = await LocalCluster.StartAsync(nodes: 3, routers: 2, DurableNode);
        var (options, errors) = DrainOptions.Parse(["--smoke", "--quiet", "--url", cluster.RouterUrls, "--nats", cluster.Nats.Url, "--admin-token", LocalCluster.AdminToken]);
        Assert.True(options is not null, string.Join("; ", errors));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));

        var result = await new DrainScenario(options, TextWriter.Null).RunAsync(timeout.Token);

        var detail = DrainTable.Render([result]);
        Assert.True(result.Durable, detail);
        Assert.Equal(60, result.Connected);

        // The node emptied and said so, and every client it had is subscribed on another node.
        Assert.NotNull(result.SecondsToDrained);
        Assert.NotNull(result.SecondsToZeroConnections);
        Assert.True(result.ClientsOnDrainedNode >= 10, detail);
        Assert.Equal(result.ClientsOnDrainedNode, result.ClientsMoved);
        Assert.Equal(0, result.ClientsLeftBehind);
        var drained = Assert.Single(result.NodesAfter, n => n.Node == result.DrainedNode);
        Assert.Equal(("drained", 0, 0), (drained.State, drained.RegistryConnections, drained.Clients));
        Assert.Equal(60, result.NodesAfter.Sum(n => n.Clients));

        // Each of its clients got one reconnect frame and came back once (the pacing itself is
        // ControlPlane.Tests' DrainTests; here the per-second buckets must account for every reconnect).
        Assert.Equal(result.ClientsOnDrainedNode, result.ReconnectFrames);
        Assert.Equal(result.ClientsOnDrainedNode, result.Reconnects);
        Assert.Equal(result.Reconnects, result.ReconnectsPerSecond.Sum());
        Assert.InRange(result.MaxReconnectsPerSecond, 1, result.ClientsOnDrainedNode);
        Assert.Equal(0, result.Drops);
        Assert.Equal(0, result.CursorMismatches);
        Assert.Equal(0, result.HistoryGone);

        // Resumed with since: every message exactly once, in order, and only the client's own topic.
        Assert.True(result.AllDelivered, detail);
        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.Duplicates);
        Assert.Equal(0, result.OutOfOrder);
        Assert.Equal(0, result.StreamSeqRegressions);
        Assert.Equal(0, result.WrongTopicFrames);
        Assert.Equal(result.ExpectedDeliveries, result.Delivered);
        Assert.True(result.Published >= 150 * 2, $"published {result.Published}");
        Assert.True(result.LatencyDuring.Count > 0 && result.LatencyBefore.Count > 0 && result.LatencyAfter.Count > 0, detail);
        Assert.True(result.Clean);
    }

    [Fact]
    public async Task Drain_on_plain_topics_counts_what_was_published_while_clients_moved_and_fails_the_run()
    {
        // No durable pattern: clients come back without since, so the messages of their gap are gone.
        await using var cluster = await LocalCluster.StartAsync(nodes: 3, routers: 1, "--Gateway:Drain:WindowMs", "2000");
        var json = Path.Combine(Path.GetTempPath(), $"drain-{Guid.NewGuid():N}.json");
        var output = new StringWriter();
        try
        {
            var exit = await LoadTestCommand.RunAsync(
                ["drain", "--smoke", "--quiet", "--rate", "300", "--url", cluster.RouterUrls, "--nats", cluster.Nats.Url, "--admin-token", LocalCluster.AdminToken, "--json", json],
                output, TextWriter.Null);

            Assert.Equal(LoadTestCommand.Lossy, exit);
            var result = JsonSerializer.Deserialize(await File.ReadAllBytesAsync(json), DrainJson.Default.DrainResult)!;
            Assert.False(result.Durable);
            Assert.True(result.Lost > 0, DrainTable.Render([result]));
            Assert.True(result.ClientsWithLoss > 0);
            Assert.Equal(0, result.Duplicates);
            Assert.Equal(result.ClientsOnDrainedNode, result.ClientsMoved);
            Assert.Contains("| 60 | 3 | 300 | no | 1 |", output.ToString());

            var report = new StringWriter();
            Assert.Equal(LoadTestCommand.Ok, await LoadTestCommand.RunAsync(["report", json], report, TextWriter.Null));
            Assert.Contains("| 60 | 3 | 300 | no | 1 |", report.ToString());
        }
        finally
        {
            File.Delete(json);
        }
    }

    [Fact]
    public async Task Drain_without_a_second_active_node_fails_with_a_clear_message()
    {
        await using var cluster = await LocalCluster.StartAsync(nodes: 1, routers: 1, DurableNode);
        var errors = new StringWriter();

        var exit = await LoadTestCommand.RunAsync(["drain", "--smoke", "--quiet", "--url", cluster.RouterUrls, "--nats", cluster.Nats.Url, "--admin-token", LocalCluster.AdminToken], TextWriter.Null, errors);

        Assert.Equal(LoadTestCommand.Failed, exit);
        Assert.Contains("a drain needs at least 2 active nodes", errors.ToString());
    }

    [Fact]
    public async Task Drain_command_line_rejects_bad_arguments_all_at_once()
    {
        var errors = new StringWriter();

        var exit = await LoadTestCommand.RunAsync(
            ["drain", "--url", "ws://127.0.0.1:1/ws,http://127.0.0.1:2/ws,ws://10.1.2.3:8000/ws", "--admin", "http://192.168.0.1:8000", "--topics", "9", "--subscribers", "4", "--drain-windw", "3"],
            TextWriter.Null, errors);

        Assert.Equal(LoadTestCommand.BadArguments, exit);
        var text = errors.ToString();
        Assert.Contains("--url must be one or more absolute ws URLs separated by commas (got 'http://127.0.0.1:2/ws')", text);
        Assert.Contains("--url must point at this machine (127.0.0.0/8 or localhost), got 10.1.2.3", text);
        Assert.Contains("--admin must point at this machine", text);
        Assert.Contains("--topics (9) must not exceed --subscribers (4)", text);
        Assert.Contains("unknown option --drain-windw", text);
    }

    [Fact]
    public async Task Router_urls_are_spread_round_robin_and_the_admin_api_defaults_to_the_first_router()
    {
        var (options, errors) = DrainOptions.Parse(["--url", "ws://127.0.0.1:8001/ws, ws://127.0.0.1:8002/ws", "--drain-window", "10s"]);

        Assert.True(options is not null, string.Join("; ", errors));
        Assert.Equal(["ws://127.0.0.1:8001/ws", "ws://127.0.0.1:8002/ws"], options.Urls.Select(u => u.ToString()));
        Assert.Equal("http://127.0.0.1:8001/", options.AdminBase.ToString());
        Assert.Equal(10, options.DrainWindowSeconds);
        Assert.Equal(15_000, options.Subscribers);
        await Task.CompletedTask;
    }

    [Theory]
    [InlineData(0, 3, 2, 1)]
    [InlineData(1, 3, 2, 1)]
    [InlineData(2, 3, 2, 0)]
    [InlineData(2, 3, 9, 3)]
    public void Messages_per_topic_follow_the_round_robin_publisher(int topic, int topics, long published, long expected) =>
        Assert.Equal(expected, DrainScenario.PublishedOn(topic, published, topics));

    [Fact]
    public void Msg_frames_give_the_stream_seq_and_their_topic()
    {
        var durable = """{"op":"msg","topic":"bench.t1","seq":4711,"data":{"seq":3,"ts":99,"pad":"x"}}"""u8;
        var plain = """{"op":"msg","topic":"bench.t10","data":{"seq":3,"ts":99,"pad":"x"}}"""u8;

        Assert.True(GatewayFrame.TryReadStreamSeq(durable, out var seq));
        Assert.Equal(4711UL, seq);
        Assert.False(GatewayFrame.TryReadStreamSeq(plain, out _));
        Assert.True(GatewayFrame.IsForTopic(durable, "bench.t1"u8));
        Assert.False(GatewayFrame.IsForTopic(plain, "bench.t1"u8));
        Assert.Equal((250, 17UL, "drain"), GatewayFrame.Reconnect("""{"op":"reconnect","reason":"drain","after_ms":250,"cursors":{"bench.t1":17}}"""u8, "bench.t1"));
    }
}
