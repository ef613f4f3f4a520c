using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using HdrHistogram;
using PubSubGateway.LoadTest.Cli;
using PubSubGateway.LoadTest.Clients;
using PubSubGateway.LoadTest.Measurement;
using PubSubGateway.LoadTest.Publishing;
using PubSubGateway.LoadTest.Reporting;

namespace PubSubGateway.LoadTest.Scenarios;

/// <summary>
/// <c>churn</c>: a connect/disconnect storm. N clients each loop for <c>--duration</c>: connect,
/// subscribe (timing connect → ack and sub → ack), stay a random time in [<c>--stay-min</c>,
/// <c>--stay-max</c>], disconnect. Failed attempts are classified (refused, HTTP 429, close 1013,
/// timeout, other). Optional background publishing at <c>--rate</c>. After the storm it waits for
/// the gateway's <c>gateway_connections</c> to return to 0 (up to <c>--drain-timeout</c>).
/// </summary>
internal sealed class ChurnScenario(RunOptions options, TextWriter progress)
{
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(10);

    private readonly LongHistogram _connectToAck = new(300_000_000, 3);
    private readonly LongHistogram _subToAck = new(300_000_000, 3);
    private readonly Lock _histogramLock = new();

    // connect → ack again, per interval for the time series.
    private readonly LatencyRecorder _connectLatency = new(Environment.ProcessorCount * 8);
    private long _attempts, _connects, _refused, _http429, _close1013, _timeout, _other, _closedEarly, _delivered, _open;
    private string? _firstOther;

    public async Task<ChurnResult> RunAsync(CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var topics = options.TopicNames;
        var latency = new LatencyRecorder(Environment.ProcessorCount * 8);
        var protocol = ClientProtocols.FromTarget(options.Target);
        var sources = new SourceAddressPool(options.SourceAddresses > 0 ? options.SourceAddresses : SourceAddressPool.For(options.Subscribers));
        var connector = new WebSocketConnector(options.Url, ClientProtocols.SubProtocol(protocol), sources, options.SocketReadBufferBytes);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var pubsub = new PubSubScenario(options, progress);

        var serverBefore = await pubsub.ScrapeAsync(http, cancellationToken);
        var procBefore = options.ServerPid is { } pid ? ProcessSample.TryRead(pid) : null;
        using var runEnd = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        runEnd.CancelAfter(TimeSpan.FromSeconds(options.DurationSeconds));
        var watch = Stopwatch.StartNew();
        var series = new LatencySeries(_connectLatency, Stopwatch.GetTimestamp());

        Task publishing = Task.CompletedTask;
        IBenchPublisher? publisher = null;
        if (options.Rate > 0)
        {
            publisher = pubsub.CreatePublisher();
            await publisher.StartAsync(cancellationToken);
            var paced = new PacedPublisher(publisher, topics, options.PayloadBytes);
            publishing = IgnoreCancellation(paced.RunAsync(options.Rate, (long)Math.Ceiling(options.Rate * options.DurationSeconds), runEnd.Token));
        }

        double? peak = null;
        using var progressStop = new CancellationTokenSource();
        var progressLoop = ProgressAsync(http, watch, series, p => peak = Math.Max(peak ?? 0, p), progressStop.Token);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, options.Subscribers).Select(i => Task.Run(() => ClientLoopAsync(i, connector, protocol, topics[i % topics.Count], latency, runEnd.Token), CancellationToken.None)));
            await publishing;
        }
        finally
        {
            if (publisher is not null)
            {
                await publisher.DisposeAsync();
            }
        }

        var stormSeconds = watch.Elapsed.TotalSeconds;
        await progressStop.CancelAsync();
        await progressLoop;
        series.Finish(Stopwatch.GetTimestamp());
        cancellationToken.ThrowIfCancellationRequested();
        progress.WriteLine($"storm over after {stormSeconds:0.0} s: {_connects:N0} connects; waiting for gateway_connections to reach 0");

        // The last clients just sent their close frames: give the server up to the drain timeout to reap them.
        var disconnected = Stopwatch.GetTimestamp();
        ServerMetrics? serverAfter = null;
        double? toZero = null;
        if (options.Metrics is not null)
        {
            var deadline = disconnected + (long)(options.DrainTimeoutSeconds * Stopwatch.Frequency);
            while (true)
            {
                serverAfter = await pubsub.ScrapeAsync(http, cancellationToken);
                if (serverAfter is { Connections: <= 0 })
                {
                    toZero = Stopwatch.GetElapsedTime(disconnected).TotalSeconds;
                    break;
                }

                if (Stopwatch.GetTimestamp() > deadline)
                {
                    break;
                }

                await Task.Delay(50, cancellationToken);
            }
        }

        var procAfter = options.ServerPid is { } pid2 ? ProcessSample.TryRead(pid2) : null;
        double? cpu = procBefore is not null && procAfter is not null ? procAfter.CpuSeconds - procBefore.CpuSeconds
            : serverBefore is not null && serverAfter is not null ? serverAfter.CpuSeconds - serverBefore.CpuSeconds : null;
        LatencySummary connectToAck, subToAck;
        lock (_histogramLock)
        {
            connectToAck = PubSubScenario.Summarise(_connectToAck);
            subToAck = PubSubScenario.Summarise(_subToAck);
        }

        return new ChurnResult
        {
            StartedUtc = started,
            Label = options.Label,
            Target = options.Target,
            IntervalSeconds = options.IntervalSeconds,
            Url = options.Url.ToString(),
            Clients = options.Subscribers,
            DurationSeconds = options.DurationSeconds,
            StayMinSeconds = options.StayMinSeconds,
            StayMaxSeconds = options.StayMaxSeconds,
            Rate = options.Rate,
            Attempts = _attempts,
            Connects = _connects,
            ConnectsPerSecond = _connects / stormSeconds,
            FailedRefused = _refused,
            FailedHttp429 = _http429,
            FailedClose1013 = _close1013,
            FailedTimeout = _timeout,
            FailedOther = _other,
            FirstOtherError = _firstOther,
            ClosedEarly = _closedEarly,
            ConnectToAck = connectToAck,
            Series = series.Points,
            SubToAck = subToAck,
            Delivered = _delivered,
            DeliveryLatency = PubSubScenario.Summarise(latency.Total()),
            ServerConnectionsPeak = peak,
            ServerConnectionsAtEnd = serverAfter?.Connections,
            SecondsToZeroConnections = toZero,
            ServerConnectionsOpened = serverBefore is not null && serverAfter is not null ? serverAfter.ConnectionsOpened - serverBefore.ConnectionsOpened : null,
            ServerConnectionsRejected = serverBefore is not null && serverAfter is not null ? serverAfter.ConnectionsRejected - serverBefore.ConnectionsRejected : null,
            ServerRssBeforeKiB = procBefore?.RssKiB,
            ServerRssEndKiB = procAfter?.RssKiB,
            ServerPeakRssKiB = procAfter?.PeakRssKiB,
            ServerCpuSeconds = cpu,
            LoadAverageAfter = ProcessSample.LoadAverage(),
        };
    }

    private async Task ClientLoopAsync(int index, WebSocketConnector connector, ClientProtocol protocol, string topic, LatencyRecorder latency, CancellationToken runEnd)
    {
        while (!runEnd.IsCancellationRequested)
        {
            Interlocked.Increment(ref _attempts);
            SubscriberClient? client = null;
            var subscribed = false;
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(runEnd);
            attempt.CancelAfter(AttemptTimeout);
            var start = Stopwatch.GetTimestamp();
            try
            {
                var socket = await connector.ConnectAsync(attempt.Token);
                client = new SubscriberClient(socket, latency, index, 64, options.ReceiveBufferBytes, protocol, options.SubjectPrefix);
                await client.SubscribeAsync(topic, attempt.Token);
                var total = Stopwatch.GetTimestamp() - start;
                subscribed = true;
                Interlocked.Increment(ref _connects);
                Interlocked.Increment(ref _open);
                lock (_histogramLock)
                {
                    _connectToAck.RecordValue(Micros(total));
                    _subToAck.RecordValue(Micros(client.SubAckTicks > 0 ? client.SubAckTicks : total));
                }

                _connectLatency.Record(index, total);

                client.Start(runEnd);
                var stay = options.StayMinSeconds + (Random.Shared.NextDouble() * (options.StayMaxSeconds - options.StayMinSeconds));
                await Task.Delay(TimeSpan.FromSeconds(stay), runEnd);
            }
            catch (OperationCanceledException) when (runEnd.IsCancellationRequested)
            {
            }
            catch (Exception ex) when (!subscribed && ex is IOException or SocketException or WebSocketException or InvalidOperationException or OperationCanceledException)
            {
                if (runEnd.IsCancellationRequested)
                {
                    break;
                }

                Classify(ex, client);
                await Task.Delay(50, CancellationToken.None);
            }
            finally
            {
                if (client is not null)
                {
                    if (subscribed && (client.Failed || client.CloseStatus is not null) && !runEnd.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref _closedEarly);
                    }

                    await client.DisposeAsync();
                    Interlocked.Add(ref _delivered, client.Received);
                    if (subscribed)
                    {
                        Interlocked.Decrement(ref _open);
                    }
                }
            }
        }
    }

    private void Classify(Exception ex, SubscriberClient? client)
    {
        if (ex is SocketException { SocketErrorCode: SocketError.ConnectionRefused } || ex.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
        {
            Interlocked.Increment(ref _refused);
        }
        else if (ex.Message.Contains("HTTP/1.1 429", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _http429);
        }
        else if ((int?)client?.CloseStatus == 1013 || ex.Message.Contains("closed by the server: 1013", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _close1013);
        }
        else if (ex is OperationCanceledException)
        {
            Interlocked.Increment(ref _timeout);
        }
        else
        {
            Interlocked.Increment(ref _other);
            Interlocked.CompareExchange(ref _firstOther, $"{ex.GetType().Name}: {ex.Message}", null);
        }
    }

    private async Task ProgressAsync(HttpClient http, Stopwatch watch, LatencySeries series, Action<double> serverConnections, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.IntervalSeconds));
        long lastConnects = 0;
        var last = watch.Elapsed.TotalSeconds;
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                series.Sample(Stopwatch.GetTimestamp());
                double? server = null;
                if (options.Metrics is not null)
                {
                    try
                    {
                        server = (await ServerMetrics.ScrapeAsync(http, options.Metrics, cancellationToken)).Connections;
                        serverConnections(server.Value);
                    }
                    catch (HttpRequestException)
                    {
                    }
                }

                var now = watch.Elapsed.TotalSeconds;
                var connects = Interlocked.Read(ref _connects);
                if (!options.Quiet)
                {
                    var failed = _refused + _http429 + _close1013 + _timeout + _other;
                    progress.WriteLine(FormattableString.Invariant(
                        $"[{now,6:0.0}s] open {Interlocked.Read(ref _open):N0}  connects {(connects - lastConnects) / (now - last),7:N0}/s  total {connects:N0}  failed {failed:N0}  server conns {server:N0}"));
                }

                (lastConnects, last) = (connects, now);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task IgnoreCancellation(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static long Micros(long ticks) => Math.Clamp(ticks * 1_000_000 / Stopwatch.Frequency, 1, 300_000_000);
}
