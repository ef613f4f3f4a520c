using System.Diagnostics;
using PubSubGateway.LoadTest.Cli;
using PubSubGateway.LoadTest.Clients;
using PubSubGateway.LoadTest.Measurement;
using PubSubGateway.LoadTest.Publishing;
using PubSubGateway.LoadTest.Reporting;

namespace PubSubGateway.LoadTest.Scenarios;

/// <summary>
/// <c>connect</c>: ramps to N idle subscribed connections as fast as <c>--connect-concurrency</c>
/// allows, holds them, proves they are live with one message per topic, and reports the open rate
/// and the server's RSS growth per connection. Clients keep no socket read buffer here (~4.5 KB each).
/// Works against the peers too (<c>--target nats-ws|signalr</c>), with the same clients.
/// </summary>
internal sealed class ConnectScenario(RunOptions options, TextWriter progress)
{
    public async Task<ConnectResult> RunAsync(CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var loadBefore = ProcessSample.LoadAverage();
        var topics = options.TopicNames;
        var serverBefore = options.ServerPid is { } pid ? ProcessSample.TryRead(pid) : null;
        var clientBefore = Environment.WorkingSet;
        var latency = new LatencyRecorder(Environment.ProcessorCount * 8);
        var sources = new SourceAddressPool(options.SourceAddresses > 0 ? options.SourceAddresses : SourceAddressPool.For(options.Subscribers));
        var protocol = ClientProtocols.FromTarget(options.Target);
        var connector = new WebSocketConnector(options.Url, ClientProtocols.SubProtocol(protocol), sources, readBufferBytes: 0);
        var clients = new SubscriberClient?[options.Subscribers];
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var failures = 0;
        string? firstError = null;
        var watch = Stopwatch.StartNew();
        var opened = 0;
        using var ticker = new Timer(_ => progress.WriteLine(FormattableString.Invariant($"[{watch.Elapsed.TotalSeconds,6:0.0}s] connected {Volatile.Read(ref opened):N0}/{options.Subscribers:N0}, failed {Volatile.Read(ref failures):N0}")), null, 1000, 1000);
        try
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.ConnectConcurrency, CancellationToken = cancellationToken };
            await Parallel.ForEachAsync(Enumerable.Range(0, options.Subscribers), parallel, async (i, ct) =>
            {
                try
                {
                    var client = new SubscriberClient(await connector.ConnectAsync(ct), latency, i, 1, options.ReceiveBufferBytes, protocol, options.SubjectPrefix);
                    clients[i] = client;
                    await client.SubscribeAsync(topics[i % topics.Count], ct);
                    client.Start(stop.Token);
                    Interlocked.Increment(ref opened);
                }
                catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or System.Net.WebSockets.WebSocketException or InvalidOperationException)
                {
                    Interlocked.Increment(ref failures);
                    Interlocked.CompareExchange(ref firstError, ex.Message, null);
                }
            });
            var connectSeconds = watch.Elapsed.TotalSeconds;
            await ticker.DisposeAsync();
            progress.WriteLine(FormattableString.Invariant($"opened {opened:N0} connections in {connectSeconds:0.00} s ({opened / connectSeconds:N0}/s), {failures:N0} failed{(firstError is null ? "" : ": " + firstError)}; holding {options.HoldSeconds:0} s"));

            await Task.Delay(TimeSpan.FromSeconds(options.HoldSeconds), cancellationToken);
            var serverAfter = options.ServerPid is { } pid2 ? ProcessSample.TryRead(pid2) : null;
            var clientAfter = Environment.WorkingSet;
            double? serverConnections = null;
            if (options.Metrics is not null)
            {
                using var http = new HttpClient();
                serverConnections = (await ServerMetrics.ScrapeAsync(http, options.Metrics, cancellationToken)).Connections;
            }

            var live = clients.Where(c => c is not null).Select(c => c!).ToArray();
            var received = await ProbeAsync(live, topics, cancellationToken);
            return new ConnectResult
            {
                StartedUtc = started,
                Label = options.Label,
                Url = options.Url.ToString(),
                Requested = options.Subscribers,
                Connected = opened,
                Topics = topics.Count,
                ConnectSeconds = connectSeconds,
                OpenRate = opened / connectSeconds,
                ServerConnections = serverConnections,
                ServerRssBeforeKiB = serverBefore?.RssKiB,
                ServerRssAfterKiB = serverAfter?.RssKiB,
                ServerKiBPerConnection = serverBefore is not null && serverAfter is not null && opened > 0 ? (serverAfter.RssKiB - serverBefore.RssKiB) / (double)opened : null,
                ClientKiBPerConnection = opened > 0 ? (clientAfter - clientBefore) / 1024.0 / opened : double.NaN,
                ReceivedProbe = received,
                LoadAverageBefore = loadBefore,
                LoadAverageAfter = ProcessSample.LoadAverage(),
            };
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(clients.Where(c => c is not null).Select(c => c!.DisposeAsync().AsTask()));
        }
    }

    /// <summary>Publishes one message per topic and counts the clients that got theirs within the drain timeout.</summary>
    private async Task<int> ProbeAsync(SubscriberClient[] clients, IReadOnlyList<string> topics, CancellationToken cancellationToken)
    {
        await using IBenchPublisher publisher = options.Publisher == "http"
            ? new HttpBenchPublisher(options.HttpBase)
            : new NatsBenchPublisher(options.Nats.ToString(), options.SubjectPrefix);
        await publisher.StartAsync(cancellationToken);
        await new PacedPublisher(publisher, topics, options.PayloadBytes).RunAsync(Math.Max(1000, topics.Count), topics.Count, cancellationToken);
        var deadline = Stopwatch.GetTimestamp() + (long)(options.DrainTimeoutSeconds * Stopwatch.Frequency);
        while (clients.Count(c => c.Distinct > 0) < clients.Length && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(50, cancellationToken);
        }

        return clients.Count(c => c.Distinct > 0);
    }
}
