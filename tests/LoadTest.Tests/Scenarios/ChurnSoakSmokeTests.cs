using PubSubGateway.LoadTest.Cli;
using PubSubGateway.LoadTest.Scenarios;
using PubSubGateway.LoadTest.Tests.Infrastructure;

namespace PubSubGateway.LoadTest.Tests.Scenarios;

/// <summary>Smoke runs of <c>churn</c> and <c>soak</c> against nats-server and an in-process gateway node.</summary>
public sealed class ChurnSoakSmokeTests
{
    [Fact]
    public async Task Churn_smoke_cycles_connections_without_failures_and_the_gateway_returns_to_zero()
    {
        await using var nats = await LocalNatsServer.StartAsync();
        await using var gateway = await InProcessGateway.StartAsync(nats.Url);
        var (options, errors) = RunOptions.Parse("churn", ["--smoke", "--quiet", "--url", gateway.WebSocketUrl, "--nats", nats.Url, "--metrics", gateway.MetricsUrl]);
        Assert.True(options is not null, string.Join("; ", errors));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var result = await new ChurnScenario(options, TextWriter.Null).RunAsync(timeout.Token);

        // 20 clients staying 0.05-0.3 s for 2 s: several cycles each.
        Assert.True(result.Connects >= 40, $"only {result.Connects} connects");
        Assert.Equal(0, result.FailedRefused + result.FailedHttp429 + result.FailedClose1013 + result.FailedTimeout + result.FailedOther);
        Assert.Null(result.FirstOtherError);
        Assert.Equal(0, result.ClosedEarly);
        Assert.Equal(0, result.ServerConnectionsAtEnd);
        Assert.NotNull(result.SecondsToZeroConnections);
        Assert.True(result.ServerConnectionsOpened >= result.Connects, $"server opened {result.ServerConnectionsOpened}, clients subscribed {result.Connects}");
        Assert.Equal(0, result.ServerConnectionsRejected);
        Assert.Equal(result.Connects, result.ConnectToAck.Count);
        Assert.True(result.SubToAck.P99Ms <= result.ConnectToAck.MaxMs);
        Assert.True(result.Delivered > 0, "background publishing reached no client");
        Assert.NotEmpty(result.Series);
        Assert.Equal(result.Connects, result.Series.Sum(p => p.Count));
    }

    [Fact]
    public async Task Churn_counts_http_429_when_the_per_ip_limit_is_exceeded()
    {
        await using var nats = await LocalNatsServer.StartAsync();
        await using var gateway = await InProcessGateway.StartAsync(nats.Url, "--Gateway:Limits:MaxConnectionsPerIp", "5");
        var (options, errors) = RunOptions.Parse("churn", ["--subscribers", "20", "--duration", "1.5", "--stay-min", "0.3", "--stay-max", "0.5", "--quiet", "--url", gateway.WebSocketUrl, "--metrics", gateway.MetricsUrl]);
        Assert.True(options is not null, string.Join("; ", errors));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var result = await new ChurnScenario(options, TextWriter.Null).RunAsync(timeout.Token);

        Assert.True(result.FailedHttp429 > 0, "no 429 counted");
        Assert.Equal(0, result.FailedOther);
        Assert.True(result.ServerConnectionsRejected >= result.FailedHttp429);
        Assert.Equal(0, result.ServerConnectionsAtEnd);
    }

    [Fact]
    public async Task Soak_smoke_samples_every_interval_and_loses_nothing()
    {
        await using var nats = await LocalNatsServer.StartAsync();
        await using var gateway = await InProcessGateway.StartAsync(nats.Url);
        var (options, errors) = RunOptions.Parse("soak", ["--smoke", "--quiet", "--url", gateway.WebSocketUrl, "--nats", nats.Url, "--metrics", gateway.MetricsUrl, "--server-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        Assert.True(options is not null, string.Join("; ", errors));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        var result = await new SoakScenario(options, TextWriter.Null).RunAsync(timeout.Token);

        Assert.True(result.Intervals.Count >= 2, $"only {result.Intervals.Count} intervals");
        Assert.True(result.Drained);
        Assert.Equal(0, result.Lost);
        Assert.Equal(0, result.Duplicates);
        Assert.Equal(0, result.ClientsDisconnected);
        Assert.Equal(result.ExpectedDeliveries, result.Delivered);
        Assert.All(result.Intervals, i =>
        {
            Assert.True(i.DeliveriesPerSecond > 0);
            Assert.False(double.IsNaN(i.P99Ms));
            Assert.NotNull(i.ServerRssKiB);
            Assert.NotNull(i.OutboundQueueBytes);
            Assert.Equal(20, i.OpenClients);
        });
        Assert.NotNull(result.RssDriftKiB);
        Assert.False(double.IsNaN(result.P99DriftMs));
        Assert.Equal(result.Intervals.Select(i => (i.EndSeconds, i.P99Ms)), result.Series.Select(p => (p.EndSeconds, p.P99Ms)));
        Assert.All(result.Series, p => Assert.True(p.P90Ms <= p.P99Ms && p.Count > 0));
    }

    [Fact]
    public async Task Duration_takes_minutes()
    {
        var (options, errors) = RunOptions.Parse("soak", ["--duration", "1.5m", "--interval", "30s"]);
        Assert.True(options is not null, string.Join("; ", errors));
        Assert.Equal(90, options.DurationSeconds);
        Assert.Equal(30, options.IntervalSeconds);
        await Task.CompletedTask;
    }
}
