using System.Diagnostics;
using HdrHistogram;

namespace PubSubGateway.LoadTest.Measurement;

/// <summary>
/// End-to-end latency in microseconds, recorded by many receive loops at once. Clients are spread
/// over a few lock-striped HdrHistograms (one histogram per client would cost ~40 KB each); the
/// progress line takes the interval histograms and folds them into the run total.
/// </summary>
internal sealed class LatencyRecorder
{
    // 1 µs .. 5 min at 3 significant digits.
    private const long HighestMicros = 300_000_000;

    private readonly Stripe[] _stripes;
    private readonly LongHistogram _total = New();
    private readonly Lock _totalLock = new();

    public LatencyRecorder(int stripes) => _stripes = Enumerable.Range(0, Math.Max(1, stripes)).Select(_ => new Stripe()).ToArray();

    /// <summary>Records a latency given in <see cref="Stopwatch"/> ticks.</summary>
    public void Record(int stripe, long ticks)
    {
        var micros = Math.Clamp(ticks * 1_000_000 / Stopwatch.Frequency, 1, HighestMicros);
        var s = _stripes[stripe % _stripes.Length];
        lock (s.Lock)
        {
            s.Interval.RecordValue(micros);
        }
    }

    /// <summary>Latencies since the previous call (also added to the total).</summary>
    public LongHistogram TakeInterval()
    {
        var interval = New();
        foreach (var s in _stripes)
        {
            lock (s.Lock)
            {
                interval.Add(s.Interval);
                s.Interval.Reset();
            }
        }

        lock (_totalLock)
        {
            _total.Add(interval);
        }

        return interval;
    }

    /// <summary>Everything recorded so far.</summary>
    public LongHistogram Total()
    {
        TakeInterval();
        lock (_totalLock)
        {
            return (LongHistogram)_total.Copy();
        }
    }

    public void Reset()
    {
        TakeInterval();
        lock (_totalLock)
        {
            _total.Reset();
        }
    }

    private static LongHistogram New() => new(HighestMicros, 3);

    private sealed class Stripe
    {
        public Lock Lock { get; } = new();

        public LongHistogram Interval { get; } = New();
    }
}
