using System.Diagnostics;
using Prometheus;

namespace PubSubGateway.Observability;

/// <summary>
/// Counts deliveries and their latency per processor and moves the totals into
/// <c>gateway_messages_delivered_total</c> and <c>gateway_delivery_latency_seconds</c> when the
/// registry is scraped.
/// <para>
/// Observing the Prometheus histogram and counter directly costs several interlocked operations
/// per delivery on counters every core shares. At a million deliveries a second those cache lines
/// move between the cores on almost every write. Here each processor adds to its own stripe: one
/// uncontended interlocked add for the bucket and one for the latency sum, on a line that stays in
/// that core's cache.
/// </para>
/// <para>
/// A scrape turns each bucket's new deliveries into one <c>Observe(mean, count)</c>. The mean of
/// values inside a bucket lies inside that bucket, so bucket counts, the count and the sum come out
/// exactly as if every delivery had been observed on its own.
/// </para>
/// </summary>
internal sealed class DeliveryRecorder
{
    /// <summary>Longs of padding before and after each stripe's data, so stripes never share a cache line.</summary>
    private const int Padding = 8;

    private readonly Counter _delivered;
    private readonly Histogram _latency;
    private readonly long[] _upperBoundTicks;
    private readonly double[] _lowerBoundSeconds;
    private readonly double[] _upperBoundSeconds;
    private readonly long[][] _stripes;
    private readonly long[][] _flushed;
    private readonly int _stripeMask;
    private readonly int _buckets;
    private readonly Lock _flushLock = new();

    public DeliveryRecorder(Counter delivered, Histogram latency, double[] upperBoundsSeconds)
    {
        _delivered = delivered;
        _latency = latency;
        _buckets = upperBoundsSeconds.Length + 1;
        _upperBoundTicks = [.. upperBoundsSeconds.Select(s => (long)Math.Floor(s * Stopwatch.Frequency))];
        _upperBoundSeconds = [.. upperBoundsSeconds, double.PositiveInfinity];
        _lowerBoundSeconds = [double.NegativeInfinity, .. upperBoundsSeconds];
        var stripes = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, Environment.ProcessorCount));
        _stripeMask = stripes - 1;
        _stripes = new long[stripes][];
        _flushed = new long[stripes][];
        for (var i = 0; i < stripes; i++)
        {
            // Per bucket: count at [Padding + b], sum of Stopwatch ticks at [Padding + buckets + b].
            _stripes[i] = new long[Padding + (2 * _buckets) + Padding];
            _flushed[i] = new long[2 * _buckets];
        }
    }

    /// <summary>Records deliveries stamped at <paramref name="stamps"/> (Stopwatch timestamps) and written at <paramref name="written"/>.</summary>
    public void Record(ReadOnlySpan<long> stamps, long written)
    {
        var stripe = _stripes[Thread.GetCurrentProcessorId() & _stripeMask];
        foreach (var stamp in stamps)
        {
            Add(stripe, written - stamp);
        }
    }

    /// <summary>Records one delivery stamped at <paramref name="stamp"/> and written now.</summary>
    public void Record(long stamp) => Add(_stripes[Thread.GetCurrentProcessorId() & _stripeMask], Stopwatch.GetTimestamp() - stamp);

    private void Add(long[] stripe, long elapsed)
    {
        var bucket = 0;
        var bounds = _upperBoundTicks;
        while (bucket < bounds.Length && elapsed > bounds[bucket])
        {
            bucket++;
        }

        // Several threads can run on one processor in turn, so the adds stay atomic; the line is
        // almost always already in this core's cache.
        Interlocked.Increment(ref stripe[Padding + bucket]);
        Interlocked.Add(ref stripe[Padding + _buckets + bucket], elapsed);
    }

    /// <summary>Moves what was recorded since the last flush into the Prometheus instruments (before each scrape).</summary>
    public void Flush()
    {
        lock (_flushLock)
        {
            long total = 0;
            for (var bucket = 0; bucket < _buckets; bucket++)
            {
                long count = 0;
                long ticks = 0;
                for (var s = 0; s < _stripes.Length; s++)
                {
                    var stripe = _stripes[s];
                    var flushed = _flushed[s];
                    var c = Volatile.Read(ref stripe[Padding + bucket]);
                    var t = Volatile.Read(ref stripe[Padding + _buckets + bucket]);
                    count += c - flushed[bucket];
                    ticks += t - flushed[_buckets + bucket];
                    flushed[bucket] = c;
                    flushed[_buckets + bucket] = t;
                }

                if (count <= 0)
                {
                    continue;
                }

                // A delivery caught between its two adds shifts a little of the sum to the next
                // flush; keeping the mean inside the bucket keeps the bucket counts exact anyway.
                var mean = (double)ticks / count / Stopwatch.Frequency;
                mean = Math.Min(Math.Max(mean, Math.BitIncrement(_lowerBoundSeconds[bucket])), _upperBoundSeconds[bucket]);
                _latency.Observe(mean, count);
                total += count;
            }

            if (total > 0)
            {
                _delivered.Inc(total);
            }
        }
    }
}
