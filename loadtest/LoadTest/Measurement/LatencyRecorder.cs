using System.Diagnostics;
using HdrHistogram;

namespace PubSubGateway.LoadTest.Measurement;

/// <summary>
/// End-to-end latency in microseconds, recorded by many receive loops at once. Clients are spread
/// over a few lock-striped HdrHistograms (one histogram per client would cost ~160 KB each at this
/// range and precision); <see cref="TakeInterval"/> swaps each stripe's histogram for an empty
/// spare, so a receive loop waits at most for a reference swap, and folds the interval into the
/// run total. The emptied histogram becomes the spare for the next stripe: one spare in all.
/// </summary>
internal sealed class LatencyRecorder
{
    // 1 µs .. 5 min at 3 significant digits.
    private const long HighestMicros = 300_000_000;

    private readonly Stripe[] _stripes;
    private readonly LongHistogram _total = New();

    // Serialises the takers: they own the spare and the total.
    private readonly Lock _takeLock = new();
    private LongHistogram _spare = New();

    public LatencyRecorder(int stripes) => _stripes = Enumerable.Range(0, Math.Max(1, stripes)).Select(_ => new Stripe()).ToArray();

    /// <summary>Records a latency given in <see cref="Stopwatch"/> ticks.</summary>
    public void Record(int stripe, long ticks) => Record(stripe, new ReadOnlySpan<long>(in ticks));

    /// <summary>
    /// Records latencies given in <see cref="Stopwatch"/> ticks under one stripe lock: clients pass
    /// all the messages of one socket read at once (one lock per message was 2.6 % of the client's
    /// CPU at 1 M deliveries/s, perf).
    /// </summary>
    public void Record(int stripe, ReadOnlySpan<long> ticks)
    {
        var s = _stripes[stripe % _stripes.Length];
        lock (s.Lock)
        {
            foreach (var t in ticks)
            {
                s.Active.RecordValue(Math.Clamp(t * 1_000_000 / Stopwatch.Frequency, 1, HighestMicros));
            }
        }
    }

    /// <summary>Latencies since the previous call (also added to the total).</summary>
    public LongHistogram TakeInterval()
    {
        lock (_takeLock)
        {
            return TakeIntervalLocked();
        }
    }

    /// <summary>Everything recorded so far.</summary>
    public LongHistogram Total()
    {
        lock (_takeLock)
        {
            TakeIntervalLocked();
            return (LongHistogram)_total.Copy();
        }
    }

    public void Reset()
    {
        lock (_takeLock)
        {
            TakeIntervalLocked();
            _total.Reset();
        }
    }

    private LongHistogram TakeIntervalLocked()
    {
        var interval = New();
        foreach (var s in _stripes)
        {
            LongHistogram filled;
            lock (s.Lock)
            {
                filled = s.Active;
                s.Active = _spare;
            }

            // Outside the stripe lock: adding and clearing 20,480 counts is what used to block the receive loops.
            interval.Add(filled);
            filled.Reset();
            _spare = filled;
        }

        _total.Add(interval);
        return interval;
    }

    private static LongHistogram New() => new(HighestMicros, 3);

    private sealed class Stripe
    {
        public Lock Lock { get; } = new();

        /// <summary>Recorded into under <see cref="Lock"/>.</summary>
        public LongHistogram Active { get; set; } = New();
    }
}
