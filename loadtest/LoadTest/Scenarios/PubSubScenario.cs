using System.Diagnostics;
using HdrHistogram;
using PubSubGateway.LoadTest.Cli;
using PubSubGateway.LoadTest.Clients;
using PubSubGateway.LoadTest.Measurement;
using PubSubGateway.LoadTest.Publishing;
using PubSubGateway.LoadTest.Reporting;

namespace PubSubGateway.LoadTest.Scenarios;

/// <summary>
/// <c>fanout</c> (N clients on one topic) and <c>topics</c> (N clients, each on its own topic):
/// connect and subscribe every client, warm up, scrape the server, publish at a fixed rate for the
/// duration, then wait until every client has every message (or the drain timeout) before stopping
/// the clock and scraping again — queued frames count, as in Centrifuge's broadcast benchmark.
/// </summary>
internal sealed class PubSubScenario(RunOptions options, TextWriter progress)
{
    public async Task<RunResult> RunAsync(CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var loadBefore = ProcessSample.LoadAverage();
        var topics = options.TopicNames;
        var latency = new LatencyRecorder(Environment.ProcessorCount * 8);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);

        var connectWatch = Stopwatch.StartNew();
        var clients = await ConnectAllAsync(topics, latency, cancellationToken);
        var connectSeconds = connectWatch.Elapsed.TotalSeconds;
        Write($"connected and subscribed {clients.Length:N0} clients in {connectSeconds:0.00} s");
        try
        {
            foreach (var client in clients)
            {
                client.Start(stop.Token);
            }

            await using var publisher = CreatePublisher();
            await publisher.StartAsync(cancellationToken);
            var paced = new PacedPublisher(publisher, topics, options.PayloadBytes);
            var warmup = await WarmUpAsync(paced, clients, cancellationToken);
            latency.Reset();

            if (options.Profiler is not null)
            {
                (await http.PostAsync(new Uri(options.Profiler, "profiler/reset"), null, cancellationToken)).EnsureSuccessStatusCode();
            }

            var serverBefore = await ScrapeAsync(http, cancellationToken);
            var procBefore = options.ServerPid is { } sp ? ProcessSample.TryRead(sp) : null;
            var brokerBefore = options.BrokerPid is { } bp ? ProcessSample.TryRead(bp) : null;
            var clientCpuBefore = Environment.CpuUsage.TotalTime.TotalSeconds;

            var expectedPerClient = options.MessagesPerTopic;
            var expectedTotal = expectedPerClient * clients.Length;
            var publishStart = Stopwatch.GetTimestamp();
            var series = new LatencySeries(latency, publishStart);
            using var samplingStop = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
            var sampling = SampleAsync(clients, paced, series, publishStart, samplingStop.Token);

            await paced.RunAsync(options.Rate, options.TotalMessages, cancellationToken);
            var publishEnd = Stopwatch.GetTimestamp();

            var drained = await DrainAsync(clients, cancellationToken);
            await samplingStop.CancelAsync();
            await sampling;
            series.Finish(Stopwatch.GetTimestamp());

            var serverAfter = await ScrapeAsync(http, cancellationToken);
            if (options.Profiler is not null)
            {
                Write("gateway " + await http.GetStringAsync(new Uri(options.Profiler, "profiler/report"), cancellationToken));
            }

            var procAfter = options.ServerPid is { } sp2 ? ProcessSample.TryRead(sp2) : null;
            var brokerAfter = options.BrokerPid is { } bp2 ? ProcessSample.TryRead(bp2) : null;
            var clientCpu = Environment.CpuUsage.TotalTime.TotalSeconds - clientCpuBefore;

            var lastDelivery = clients.Max(c => c.LastReceive);
            var delivered = clients.Sum(c => c.Distinct);
            var elapsed = lastDelivery > publishStart ? Stopwatch.GetElapsedTime(publishStart, lastDelivery).TotalSeconds : double.NaN;
            var publishSeconds = Stopwatch.GetElapsedTime(publishStart, publishEnd).TotalSeconds;
            double PerMillion(double cpu) => delivered == 0 ? double.NaN : cpu / delivered * 1e6;

            return new RunResult
            {
                Scenario = options.Scenario,
                Target = options.Target,
                Label = options.Label,
                StartedUtc = started,
                Url = options.Url.ToString(),
                Publisher = publisher.Kind,
                Subscribers = options.Subscribers,
                Connected = clients.Length,
                Topics = topics.Count,
                PayloadBytes = options.PayloadBytes,
                TargetRate = options.Rate,
                DurationSeconds = options.DurationSeconds,
                ConnectSeconds = connectSeconds,
                WarmupSeconds = warmup.Seconds,
                WarmupJitQuiet = warmup.JitQuiet,
                Published = options.TotalMessages,
                PublishRate = options.TotalMessages / publishSeconds,
                ExpectedDeliveries = expectedTotal,
                Delivered = delivered,
                Lost = clients.Sum(c => c.Missing(expectedPerClient)),
                Duplicates = clients.Sum(c => c.Duplicates),
                OutOfOrder = clients.Sum(c => c.OutOfOrder),
                ClientsWithLoss = clients.Count(c => c.Missing(expectedPerClient) > 0),
                ClientsDisconnected = clients.Count(c => c.Failed || c.CloseStatus is not null),
                Drained = drained,
                DrainSeconds = lastDelivery > publishEnd ? Stopwatch.GetElapsedTime(publishEnd, lastDelivery).TotalSeconds : 0,
                ElapsedSeconds = elapsed,
                DeliveriesPerSecond = delivered / elapsed,
                Latency = Summarise(latency.Total()),
                IntervalSeconds = options.IntervalSeconds,
                Series = series.Points,
                Server = Difference(serverBefore, serverAfter),
                ServerProcess = Difference(procBefore, procAfter, delivered),
                Broker = Difference(brokerBefore, brokerAfter, delivered),
                Client = new ProcessFigures(clientCpu, PerMillion(clientCpu), Environment.WorkingSet / 1024, 0),
                LoadAverageBefore = loadBefore,
                LoadAverageAfter = ProcessSample.LoadAverage(),
            };
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    internal async Task<SubscriberClient[]> ConnectAllAsync(IReadOnlyList<string> topics, LatencyRecorder latency, CancellationToken cancellationToken)
    {
        var sources = new SourceAddressPool(options.SourceAddresses > 0 ? options.SourceAddresses : SourceAddressPool.For(options.Subscribers));
        var connector = new WebSocketConnector(options.Url, ClientProtocols.SubProtocol(ClientProtocols.FromTarget(options.Target)), sources, options.SocketReadBufferBytes);
        var clients = new SubscriberClient[options.Subscribers];
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.ConnectConcurrency, CancellationToken = cancellationToken };
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, options.Subscribers), parallel, async (i, ct) =>
            {
                var socket = await connector.ConnectAsync(ct);
                var client = new SubscriberClient(socket, latency, i, options.MessagesPerTopic, options.ReceiveBufferBytes, ClientProtocols.FromTarget(options.Target), options.SubjectPrefix);
                clients[i] = client;
                await client.SubscribeAsync(topics[i % topics.Count], ct);
            });
        }
        catch
        {
            await Task.WhenAll(clients.Where(c => c is not null).Select(c => c.DisposeAsync().AsTask()));
            throw;
        }

        return clients;
    }

    internal IBenchPublisher CreatePublisher() => options.Publisher == "http"
        ? new HttpBenchPublisher(options.HttpBase)
        : new NatsBenchPublisher(options.Nats.ToString(), options.SubjectPrefix);

    /// <summary>
    /// Unmeasured traffic first: JIT, tiered compilation and pools settle before the "before" scrape.
    /// After --warmup seconds it goes on, up to --warmup-max, until the tiered-compilation workers of
    /// the tool and of the server have been quiet for a second. Then it waits for every warm-up
    /// delivery.
    /// </summary>
    internal async Task<WarmupOutcome> WarmUpAsync(PacedPublisher paced, SubscriberClient[] clients, CancellationToken cancellationToken)
    {
        var longest = Math.Max(options.WarmupSeconds, options.WarmupMaxSeconds);
        var maxCount = (long)(options.Rate * longest / options.Topics) * options.Topics;
        if ((long)(options.Rate * options.WarmupSeconds / options.Topics) == 0)
        {
            return new WarmupOutcome(0, JitQuiet: null);
        }

        var started = Stopwatch.GetTimestamp();
        var publishing = paced.RunWarmupAsync(options.Rate, maxCount, cancellationToken);
        bool? quiet = null;
        if (longest > options.WarmupSeconds)
        {
            quiet = await WaitForQuietJitAsync(publishing, cancellationToken);
            paced.EndWarmup();
        }

        await publishing;
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var expected = paced.WarmupSent / options.Topics * clients.Length;
        var deadline = Stopwatch.GetTimestamp() + (long)(options.DrainTimeoutSeconds * Stopwatch.Frequency);
        while (clients.Sum(c => c.WarmupReceived) < expected && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(20, cancellationToken);
        }

        await Task.Delay(200, cancellationToken);
        var outcome = new WarmupOutcome(seconds, quiet);
        Write(quiet switch
        {
            true => $"warm-up {seconds:0.0} s (JIT quiet)",
            false => $"warm-up {seconds:0.0} s (JIT still compiling at --warmup-max)",
            null => $"warm-up {seconds:0.0} s",
        });
        return outcome;
    }

    /// <summary>After --warmup seconds, samples the compilation workers every second until one second passes quietly; false if the warm-up publishing ends first.</summary>
    private async Task<bool> WaitForQuietJitAsync(Task publishing, CancellationToken cancellationToken)
    {
        // At most 2 % of a core compiling in a second, per process: two /proc ticks. Sporadic
        // tier-ups go on for minutes in a busy .NET process; the start-up storm is 10-40 %.
        const double MaxBusyFraction = 0.02;
        var jit = JitActivity.ForToolAnd(options.ServerPid);
        await Task.WhenAny(publishing, Task.Delay(TimeSpan.FromSeconds(options.WarmupSeconds), cancellationToken));
        jit.BusySinceLastSample();
        if (jit.Unreadable.Count > 0)
        {
            Write($"warm-up: cannot read the threads of process {string.Join(", ", jit.Unreadable)}; its JIT counts as quiet");
        }

        var at = Stopwatch.GetTimestamp();
        while (!publishing.IsCompleted)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.WhenAny(publishing, Task.Delay(TimeSpan.FromSeconds(1), cancellationToken));
            var busy = jit.BusySinceLastSample();
            var now = Stopwatch.GetTimestamp();
            if (!publishing.IsCompleted && JitActivity.Quiet(busy, Stopwatch.GetElapsedTime(at, now).TotalSeconds, MaxBusyFraction))
            {
                return true;
            }

            at = now;
        }

        return false;
    }

    internal async Task<bool> DrainAsync(SubscriberClient[] clients, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(options.DrainTimeoutSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            // A client the server closed (e.g. 4008 slow consumer) will receive nothing more. Decide
            // from one pass: a sum taken earlier can be stale by the time every client is done.
            if (clients.All(c => c.Distinct >= options.MessagesPerTopic || c.Failed || c.CloseStatus is not null))
            {
                return clients.All(c => c.Distinct >= options.MessagesPerTopic);
            }

            await Task.Delay(10, cancellationToken);
        }

        return false;
    }

    /// <summary>Closes an interval of the time series every --interval; prints it unless --quiet.</summary>
    private async Task SampleAsync(SubscriberClient[] clients, PacedPublisher paced, LatencySeries series, long start, CancellationToken cancellationToken)
    {
        long lastSent = 0;
        var last = start;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.IntervalSeconds));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var now = Stopwatch.GetTimestamp();
                var point = series.Sample(now);
                var sent = paced.Sent;
                if (!options.Quiet)
                {
                    var open = clients.Count(c => !c.Failed && c.CloseStatus is null);
                    Write(FormattableString.Invariant(
                        $"[{point.EndSeconds,6:0.0}s] conns {open:N0}/{clients.Length:N0}  pub {(sent - lastSent) / Stopwatch.GetElapsedTime(last, now).TotalSeconds,9:N0}/s  deliveries {point.PerSecond,11:N0}/s  p50 {point.P50Ms,7:0.00} ms  p99 {point.P99Ms,7:0.00} ms"));
                }

                (lastSent, last) = (sent, now);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal async Task<ServerMetrics?> ScrapeAsync(HttpClient http, CancellationToken cancellationToken)
    {
        if (options.Metrics is null)
        {
            return null;
        }

        try
        {
            return await ServerMetrics.ScrapeAsync(http, options.Metrics, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            Write("metrics scrape failed: " + ex.Message);
            return null;
        }
    }

    private static ServerFigures? Difference(ServerMetrics? before, ServerMetrics? after)
    {
        if (before is null || after is null)
        {
            return null;
        }

        var delivered = after.Delivered - before.Delivered;
        var allocated = after.AllocatedBytes - before.AllocatedBytes;
        var cpu = after.CpuSeconds - before.CpuSeconds;
        return new ServerFigures(
            delivered,
            after.Dropped - before.Dropped,
            allocated,
            delivered > 0 ? allocated / delivered : double.NaN,
            cpu,
            delivered > 0 ? cpu / delivered * 1e6 : double.NaN,
            ServerMetrics.LatencyPercentile(before, after, 50) * 1000,
            ServerMetrics.LatencyPercentile(before, after, 99) * 1000)
        {
            GcCollections = after.GcCollections - before.GcCollections,
            GcPauseSeconds = after.GcPauseSeconds - before.GcPauseSeconds,
        };
    }

    private static ProcessFigures? Difference(ProcessSample? before, ProcessSample? after, long delivered)
    {
        if (before is null || after is null)
        {
            return null;
        }

        var cpu = after.CpuSeconds - before.CpuSeconds;
        return new ProcessFigures(cpu, delivered > 0 ? cpu / delivered * 1e6 : double.NaN, after.RssKiB, after.PeakRssKiB);
    }

    internal static LatencySummary Summarise(LongHistogram h) => h.TotalCount == 0
        ? new LatencySummary(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN)
        : new LatencySummary(h.TotalCount, Ms(h, 50), Ms(h, 90), Ms(h, 99), Ms(h, 99.9), h.GetMaxValue() / 1000.0, h.GetMean() / 1000.0);

    internal static double Ms(LongHistogram h, double percentile) =>
        h.TotalCount == 0 ? double.NaN : h.GetValueAtPercentile(percentile) / 1000.0;

    private void Write(string line) => progress.WriteLine(line);
}

/// <summary>How long the warm-up published, and whether the JIT went quiet (null: a fixed warm-up).</summary>
internal readonly record struct WarmupOutcome(double Seconds, bool? JitQuiet);
