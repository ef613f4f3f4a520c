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
/// move between the cores on almost every write. Here each processor adds to its own stripe under
/// that stripe's lock: one uncontended lock per batch a writer sent (or per direct write), plain
/// adds inside, on lines that stay in that core's cache.
/// </para>
/// <para>
/// A scrape takes each stripe's count and sum together under the same lock and turns each
/// bucket's new deliveries into one <c>Observe(mean, count)</c>. The mean of values inside a
/// bucket lies inside that bucket, so bucket counts, the count and the sum come out exactly as if
/// every delivery had been observed on its own. (With two interlocked adds per delivery and no
/// lock, a scrape could catch a delivery counted but not yet summed; the clamped mean then lost
/// part of the sum, which a test caught under load.)
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
    private readonly Lock[] _stripeLocks;
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
        _stripeLocks = new Lock[stripes];
        _flushed = new long[stripes][];
        for (var i = 0; i < stripes; i++)
        {
            // Per bucket: count at [Padding + b], sum of Stopwatch ticks at [Padding + buckets + b].
            _stripes[i] = new long[Padding + (2 * _buckets) + Padding];
            _stripeLocks[i] = new Lock();
            _flushed[i] = new long[2 * _buckets];
        }
    }

    /// <summary>Records deliveries stamped at <paramref name="stamps"/> (Stopwatch timestamps) and written at <paramref name="written"/>.</summary>
    public void Record(ReadOnlySpan<long> stamps, long written)
    {
        if (stamps.IsEmpty)
        {
            return;
        }

        var index = Thread.GetCurrentProcessorId() & _stripeMask;
        var stripe = _stripes[index];

        // Several threads can run on one processor in turn: the lock keeps each stripe's count
        // and sum consistent for a scrape, and is almost never contended.
        lock (_stripeLocks[index])
        {
            foreach (var stamp in stamps)
            {
                Add(stripe, written - stamp);
            }
        }
    }

    /// <summary>Records one delivery stamped at <paramref name="stamp"/> and written now.</summary>
    public void Record(long stamp)
    {
        var elapsed = Stopwatch.GetTimestamp() - stamp;
        var index = Thread.GetCurrentProcessorId() & _stripeMask;
        lock (_stripeLocks[index])
        {
            Add(_stripes[index], elapsed);
        }
    }

    private void Add(long[] stripe, long elapsed)
    {
        var bucket = 0;
        var bounds = _upperBoundTicks;
        while (bucket < bounds.Length && elapsed > bounds[bucket])
        {
            bucket++;
        }

        stripe[Padding + bucket]++;
        stripe[Padding + _buckets + bucket] += elapsed;
    }

    /// <summary>Moves what was recorded since the last flush into the Prometheus instruments (before each scrape).</summary>
    public void Flush()
    {
        lock (_flushLock)
        {
            // Take every stripe's new counts and sums, each stripe under its lock, so no delivery is
            // counted in one scrape and summed in the next.
            var counts = new long[_buckets];
            var ticks = new long[_buckets];
            for (var s = 0; s < _stripes.Length; s++)
            {
                var stripe = _stripes[s];
                var flushed = _flushed[s];
                lock (_stripeLocks[s])
                {
                    for (var bucket = 0; bucket < _buckets; bucket++)
                    {
                        var c = stripe[Padding + bucket];
                        var t = stripe[Padding + _buckets + bucket];
                        counts[bucket] += c - flushed[bucket];
                        ticks[bucket] += t - flushed[_buckets + bucket];
                        flushed[bucket] = c;
                        flushed[_buckets + bucket] = t;
                    }
                }
            }

            long total = 0;
            for (var bucket = 0; bucket < _buckets; bucket++)
            {
                var count = counts[bucket];
                if (count <= 0)
                {
                    continue;
                }

                // Every value in the bucket lies within its bounds, so their mean does too; the clamp
                // only guards against floating-point rounding at a bound.
                var mean = (double)ticks[bucket] / count / Stopwatch.Frequency;
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
