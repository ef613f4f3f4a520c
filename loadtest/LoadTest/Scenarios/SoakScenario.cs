using System.Diagnostics;
using PubSubGateway.LoadTest.Cli;
using PubSubGateway.LoadTest.Clients;
using PubSubGateway.LoadTest.Measurement;
using PubSubGateway.LoadTest.Publishing;
using PubSubGateway.LoadTest.Reporting;

namespace PubSubGateway.LoadTest.Scenarios;

/// <summary>
/// <c>soak</c>: the <c>fanout</c> machinery (same clients, publisher, warm-up and drain) held for a
/// long <c>--duration</c>, sampled every <c>--interval</c>: deliveries/s, p50/p99 of that interval
/// alone (the HdrHistogram interval is reset each sample), server RSS and the gateway's
/// <c>gateway_outbound_queue_bytes</c>. Reports the drift of RSS and p99 from the first interval to the last.
/// </summary>
internal sealed class SoakScenario(RunOptions options, TextWriter progress)
{
    public async Task<SoakResult> RunAsync(CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var topics = options.TopicNames;
        var latency = new LatencyRecorder(Environment.ProcessorCount * 8);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pubsub = new PubSubScenario(options, progress);

        var clients = await pubsub.ConnectAllAsync(topics, latency, cancellationToken);
        progress.WriteLine($"connected and subscribed {clients.Length:N0} clients");
        try
        {
            foreach (var client in clients)
            {
                client.Start(stop.Token);
            }

            await using var publisher = pubsub.CreatePublisher();
            await publisher.StartAsync(cancellationToken);
            var paced = new PacedPublisher(publisher, topics, options.PayloadBytes);
            await pubsub.WarmUpAsync(paced, clients, cancellationToken);
            latency.Reset();

            var serverBefore = await pubsub.ScrapeAsync(http, cancellationToken);
            var procBefore = options.ServerPid is { } sp ? ProcessSample.TryRead(sp) : null;
            var publishStart = Stopwatch.GetTimestamp();
            var publishing = paced.RunAsync(options.Rate, options.TotalMessages, cancellationToken);

            var intervals = new List<SoakInterval>();
            var series = new LatencySeries(latency, publishStart);
            long lastSent = 0, lastDelivered = 0;
            var last = publishStart;
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.IntervalSeconds));
            while (true)
            {
                var tick = timer.WaitForNextTickAsync(cancellationToken).AsTask();
                if (await Task.WhenAny(tick, publishing) == publishing)
                {
                    break;
                }

                await tick;
                await SampleAsync();
            }

            await publishing;

            // The publisher finishes at about the last tick: keep that last interval unless it is a short tail.
            if (Stopwatch.GetElapsedTime(last).TotalSeconds >= options.IntervalSeconds / 2)
            {
                await SampleAsync();
            }

            async Task SampleAsync()
            {
                var now = Stopwatch.GetTimestamp();
                var seconds = Stopwatch.GetElapsedTime(last, now).TotalSeconds;
                var sent = paced.Sent;
                var delivered = clients.Sum(c => c.Received);
                var point = series.Sample(now);
                var metrics = await pubsub.ScrapeAsync(http, cancellationToken);
                var proc = options.ServerPid is { } pid ? ProcessSample.TryRead(pid) : null;
                var sample = new SoakInterval(
                    intervals.Count + 1,
                    Stopwatch.GetElapsedTime(publishStart, now).TotalSeconds,
                    (sent - lastSent) / seconds,
                    (delivered - lastDelivered) / seconds,
                    point.P50Ms,
                    point.P99Ms,
                    point.MaxMs,
                    proc?.RssKiB,
                    metrics?.OutboundQueueBytes,
                    clients.Count(c => !c.Failed && c.CloseStatus is null));
                intervals.Add(sample);
                if (!options.Quiet)
                {
                    progress.WriteLine(FormattableString.Invariant(
                        $"[{sample.EndSeconds,7:0.0}s] #{sample.Index} pub {sample.PublishedPerSecond,8:N0}/s  deliveries {sample.DeliveriesPerSecond,10:N0}/s  p50 {sample.P50Ms,7:0.00} ms  p99 {sample.P99Ms,7:0.00} ms  srv RSS {sample.ServerRssKiB / 1024.0,7:0.0} MiB  queue {sample.OutboundQueueBytes / 1024.0,8:0.0} KiB  open {sample.OpenClients:N0}"));
                }

                (lastSent, lastDelivered, last) = (sent, delivered, now);
            }

            var drained = await pubsub.DrainAsync(clients, cancellationToken);
            var serverAfter = await pubsub.ScrapeAsync(http, cancellationToken);
            var procAfter = options.ServerPid is { } sp2 ? ProcessSample.TryRead(sp2) : null;
            var deliveredTotal = clients.Sum(c => c.Distinct);
            double? cpu = procBefore is not null && procAfter is not null ? procAfter.CpuSeconds - procBefore.CpuSeconds
                : serverBefore is not null && serverAfter is not null ? serverAfter.CpuSeconds - serverBefore.CpuSeconds : null;
            var first = intervals.FirstOrDefault();
            var final = intervals.LastOrDefault();
            return new SoakResult
            {
                StartedUtc = started,
                Label = options.Label,
                Target = options.Target,
                Url = options.Url.ToString(),
                Subscribers = options.Subscribers,
                Connected = clients.Length,
                TargetRate = options.Rate,
                DurationSeconds = options.DurationSeconds,
                IntervalSeconds = options.IntervalSeconds,
                Published = options.TotalMessages,
                ExpectedDeliveries = options.MessagesPerTopic * clients.Length,
                Delivered = deliveredTotal,
                Lost = clients.Sum(c => c.Missing(options.MessagesPerTopic)),
                Duplicates = clients.Sum(c => c.Duplicates),
                ClientsDisconnected = clients.Count(c => c.Failed || c.CloseStatus is not null),
                Drained = drained,
                Latency = PubSubScenario.Summarise(latency.Total()),
                Intervals = intervals,
                Series = series.Points,
                RssDriftKiB = first?.ServerRssKiB is { } a && final?.ServerRssKiB is { } b ? b - a : null,
                P99DriftMs = first is not null && final is not null ? final.P99Ms - first.P99Ms : double.NaN,
                ServerCpuSeconds = cpu,
                ServerCpuSecondsPerMillionDeliveries = cpu is { } c && deliveredTotal > 0 ? c / deliveredTotal * 1e6 : null,
                LoadAverageAfter = ProcessSample.LoadAverage(),
            };
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }
    }
}
