using System.Diagnostics;
using HdrHistogram;
using PubSubGateway.LoadTest.Measurement;

namespace PubSubGateway.LoadTest.Tests.Measurement;

public sealed class LatencySeriesTests
{
    private static long Ticks(double ms) => (long)(ms * Stopwatch.Frequency / 1000);

    [Fact]
    public void Take_interval_returns_only_what_was_recorded_since_the_previous_take_and_the_total_keeps_everything()
    {
        var recorder = new LatencyRecorder(stripes: 4);
        for (var i = 0; i < 100; i++)
        {
            recorder.Record(i, Ticks(2));
        }

        var first = recorder.TakeInterval();
        recorder.Record(7, Ticks(50));
        var second = recorder.TakeInterval();
        var third = recorder.TakeInterval();

        Assert.Equal(100, first.TotalCount);
        Assert.Equal(1, second.TotalCount);
        Assert.InRange(second.GetMaxValue(), 49_950, 50_050);
        Assert.Equal(0, third.TotalCount);
        Assert.Equal(101, recorder.Total().TotalCount);
    }

    [Fact]
    public async Task Intervals_taken_while_many_threads_record_add_up_to_every_sample()
    {
        var recorder = new LatencyRecorder(stripes: 3);
        const int Threads = 4, PerThread = 200_000;
        long taken = 0;
        using var done = new CancellationTokenSource();
        var taker = Task.Run(() =>
        {
            while (!done.IsCancellationRequested)
            {
                taken += recorder.TakeInterval().TotalCount;
            }
        });

        await Task.WhenAll(Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < PerThread; i++)
            {
                recorder.Record(t + i, Ticks(1 + (i % 10)));
            }
        })));
        await done.CancelAsync();
        await taker;
        taken += recorder.TakeInterval().TotalCount;

        Assert.Equal(Threads * PerThread, taken);
        Assert.Equal(Threads * PerThread, recorder.Total().TotalCount);
    }

    [Fact]
    public void Each_sample_has_the_percentiles_and_rate_of_its_own_interval_and_an_empty_one_has_no_percentiles()
    {
        var recorder = new LatencyRecorder(stripes: 2);
        var start = 1_000_000L;
        var series = new LatencySeries(recorder, start);

        // 1 s: 90 samples of 1 ms and 10 of 100 ms.
        for (var i = 0; i < 100; i++)
        {
            recorder.Record(i, Ticks(i < 90 ? 1 : 100));
        }

        var first = series.Sample(start + Stopwatch.Frequency);

        // 0.5 s with nothing, then 2 s with 400 samples of 10 ms.
        var empty = series.Sample(start + (Stopwatch.Frequency * 3 / 2));
        for (var i = 0; i < 400; i++)
        {
            recorder.Record(i, Ticks(10));
        }

        var third = series.Sample(start + (Stopwatch.Frequency * 7 / 2));

        Assert.Equal(1.0, first.EndSeconds, 6);
        Assert.Equal(1.0, first.Seconds, 6);
        Assert.Equal(100, first.Count);
        Assert.Equal(100, first.PerSecond, 6);
        Assert.Equal(1.0, first.P50Ms, 2);
        Assert.Equal(1.0, first.P90Ms, 2);
        Assert.Equal(100, first.P99Ms, 0);
        Assert.Equal(100, first.MaxMs, 0);

        Assert.Equal(1.5, empty.EndSeconds, 6);
        Assert.Equal(0, empty.Count);
        Assert.Equal(0, empty.PerSecond);
        Assert.True(double.IsNaN(empty.P50Ms) && double.IsNaN(empty.P99Ms) && double.IsNaN(empty.MaxMs));

        Assert.Equal(3.5, third.EndSeconds, 6);
        Assert.Equal(2.0, third.Seconds, 6);
        Assert.Equal(200, third.PerSecond, 6);
        Assert.Equal(10, third.P99Ms, 1);
        Assert.Equal([first, empty, third], series.Points);
    }

    [Fact]
    public void Finish_keeps_a_partial_last_interval_only_when_it_has_samples()
    {
        var recorder = new LatencyRecorder(stripes: 1);
        var series = new LatencySeries(recorder, 0);
        recorder.Record(0, Ticks(5));
        series.Sample(Stopwatch.Frequency);

        Assert.Null(series.Finish(Stopwatch.Frequency + (Stopwatch.Frequency / 10)));
        recorder.Record(0, Ticks(5));
        recorder.Record(0, Ticks(5));
        var last = series.Finish(Stopwatch.Frequency + (Stopwatch.Frequency / 5));

        Assert.NotNull(last);
        Assert.Equal(2, last.Count);
        Assert.Equal(0.2, last.Seconds, 6);
        Assert.Equal(10, last.PerSecond, 6);
        Assert.Equal(2, series.Points.Count);
        Assert.Equal(recorder.Total().TotalCount, series.Points.Sum(p => p.Count));
    }

    [Fact]
    public void Each_interval_counts_the_load_tools_own_garbage_collections()
    {
        var series = new LatencySeries(new LatencyRecorder(stripes: 1), Stopwatch.GetTimestamp());
        series.Sample(Stopwatch.GetTimestamp());
        GC.Collect();
        GC.Collect();
        var withCollections = series.Sample(Stopwatch.GetTimestamp());

        Assert.True(withCollections.ClientGcCollections >= 2, $"{withCollections.ClientGcCollections} collections");
        Assert.True(withCollections.ClientGcPauseMs > 0);
    }
}
