using System.Diagnostics;
using HdrHistogram;
using PubSubGateway.LoadTest.Reporting;

namespace PubSubGateway.LoadTest.Measurement;

/// <summary>
/// The time series of a run: each <see cref="Sample"/> takes the recorder's interval histogram
/// (everything since the previous sample) and keeps its percentiles and rate. The receive loops
/// never see it; it costs one histogram merge per interval. Not thread-safe: one sampling loop.
/// </summary>
internal sealed class LatencySeries(LatencyRecorder recorder, long startTimestamp)
{
    private readonly long _start = startTimestamp;
    private readonly List<LatencyPoint> _points = [];
    private long _last = startTimestamp;
    private TimeSpan _lastGcPause = GC.GetTotalPauseDuration();
    private int _lastGcCollections = GcCollections();

    public IReadOnlyList<LatencyPoint> Points => _points;

    /// <summary>Closes the interval that ends at <paramref name="now"/> (a <see cref="Stopwatch"/> timestamp).</summary>
    public LatencyPoint Sample(long now) => Add(recorder.TakeInterval(), now);

    /// <summary>
    /// Closes the last, usually partial, interval if anything was recorded in it, so that the
    /// series accounts for every sample of the run.
    /// </summary>
    public LatencyPoint? Finish(long now)
    {
        var h = recorder.TakeInterval();
        return h.TotalCount == 0 ? null : Add(h, now);
    }

    private LatencyPoint Add(LongHistogram h, long now)
    {
        var seconds = Stopwatch.GetElapsedTime(_last, now).TotalSeconds;
        var empty = h.TotalCount == 0;
        var gcPause = GC.GetTotalPauseDuration();
        var gcCollections = GcCollections();
        var point = new LatencyPoint(
            Stopwatch.GetElapsedTime(_start, now).TotalSeconds,
            seconds,
            h.TotalCount,
            seconds > 0 ? h.TotalCount / seconds : double.NaN,
            empty ? double.NaN : h.GetValueAtPercentile(50) / 1000.0,
            empty ? double.NaN : h.GetValueAtPercentile(90) / 1000.0,
            empty ? double.NaN : h.GetValueAtPercentile(99) / 1000.0,
            empty ? double.NaN : h.GetMaxValue() / 1000.0,
            (gcPause - _lastGcPause).TotalMilliseconds,
            gcCollections - _lastGcCollections);
        _points.Add(point);
        _last = now;
        _lastGcPause = gcPause;
        _lastGcCollections = gcCollections;
        return point;
    }

    private static int GcCollections()
    {
        var total = 0;
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            total += GC.CollectionCount(generation);
        }

        return total;
    }
}
