using System.Diagnostics;
using System.Globalization;
using System.Text;
using Prometheus;
using PubSubGateway.Observability;

namespace PubSubGateway.Tests.Unit;

/// <summary>
/// The per-processor delivery recorder must expose the same counter and histogram as observing each
/// delivery directly: exact bucket counts, count and sum, from any number of threads.
/// </summary>
public sealed class DeliveryRecorderTests
{
    private static readonly double[] Buckets = [0.001, 0.002, 0.004, 0.008];

    [Fact]
    public async Task A_scrape_shows_every_delivery_in_its_bucket_with_the_exact_sum()
    {
        var (registry, recorder) = Create();
        double[] latencies = [0.0005, 0.001, 0.0015, 0.003, 0.003, 0.0079, 0.5];
        var now = Stopwatch.GetTimestamp();
        recorder.Record(latencies.Select(l => now - Ticks(l)).ToArray(), now);

        var text = await ScrapeAsync(registry);

        Assert.Equal(7, Sample(text, "test_delivered_total"));
        Assert.Equal(2, Sample(text, "test_latency_seconds_bucket{le=\"0.001\"}"));
        Assert.Equal(3, Sample(text, "test_latency_seconds_bucket{le=\"0.002\"}"));
        Assert.Equal(5, Sample(text, "test_latency_seconds_bucket{le=\"0.004\"}"));
        Assert.Equal(6, Sample(text, "test_latency_seconds_bucket{le=\"0.008\"}"));
        Assert.Equal(7, Sample(text, "test_latency_seconds_bucket{le=\"+Inf\"}"));
        Assert.Equal(7, Sample(text, "test_latency_seconds_count"));
        Assert.Equal(latencies.Sum(), Sample(text, "test_latency_seconds_sum"), 6);
    }

    [Fact]
    public async Task Deliveries_from_many_threads_between_scrapes_are_counted_once()
    {
        var (registry, recorder) = Create();
        const int Threads = 8;
        const int PerThread = 50_000;
        var writers = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            var stamp = new long[1];
            for (var i = 0; i < PerThread; i++)
            {
                // 1.5 ms and 3 ms alternate: two buckets, known sum.
                var now = Stopwatch.GetTimestamp();
                stamp[0] = now - Ticks(i % 2 == 0 ? 0.0015 : 0.003);
                recorder.Record(stamp, now);
            }
        })).ToArray();
        // Scrape at least once, and as often as possible while the writers run (on a slow machine
        // they may finish first; the totals must come out the same either way).
        do
        {
            await ScrapeAsync(registry);
        }
        while (!writers.All(w => w.IsCompleted));

        var text = await ScrapeAsync(registry);

        Assert.Equal(Threads * PerThread, Sample(text, "test_delivered_total"));
        Assert.Equal(0, Sample(text, "test_latency_seconds_bucket{le=\"0.001\"}"));
        Assert.Equal(Threads * PerThread / 2, Sample(text, "test_latency_seconds_bucket{le=\"0.002\"}"));
        Assert.Equal(Threads * PerThread, Sample(text, "test_latency_seconds_bucket{le=\"0.004\"}"));
        Assert.Equal(Threads * PerThread * 0.00225, Sample(text, "test_latency_seconds_sum"), 3);
    }

    [Fact]
    public async Task Single_records_use_the_time_of_the_call()
    {
        var (registry, recorder) = Create();
        recorder.Record(Stopwatch.GetTimestamp() - Ticks(0.003));

        var text = await ScrapeAsync(registry);

        Assert.Equal(1, Sample(text, "test_delivered_total"));
        Assert.Equal(0, Sample(text, "test_latency_seconds_bucket{le=\"0.002\"}"));
        Assert.Equal(1, Sample(text, "test_latency_seconds_bucket{le=\"+Inf\"}"));
        Assert.InRange(Sample(text, "test_latency_seconds_sum"), 0.003, 1);
    }

    private static (CollectorRegistry Registry, DeliveryRecorder Recorder) Create()
    {
        var registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(registry);
        var recorder = new DeliveryRecorder(
            factory.CreateCounter("test_delivered_total", "d"),
            factory.CreateHistogram("test_latency_seconds", "l", new HistogramConfiguration { Buckets = Buckets }),
            Buckets);
        registry.AddBeforeCollectCallback(recorder.Flush);
        return (registry, recorder);
    }

    private static long Ticks(double seconds) => (long)(seconds * Stopwatch.Frequency);

    private static async Task<string> ScrapeAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static double Sample(string text, string series)
    {
        var line = text.Split('\n').Single(l => l.StartsWith(series + " ", StringComparison.Ordinal));
        return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
    }
}
