using System.Diagnostics;
using PubSubGateway.LoadTest.Payloads;

namespace PubSubGateway.LoadTest.Publishing;

/// <summary>
/// Publishes <c>count</c> messages at a fixed rate, spread round-robin over topics. Each pass of the
/// loop sends every message that is due by now, then sleeps ~1 ms, so the schedule never drifts:
/// a late pass catches up. Each payload is stamped just before its publish call.
/// </summary>
internal sealed class PacedPublisher(IBenchPublisher publisher, IReadOnlyList<string> topics, int payloadBytes)
{
    private long _sent;

    public long Sent => Volatile.Read(ref _sent);

    /// <summary>Warm-up messages carry seq -1, -2, … and are not counted by clients.</summary>
    public Task RunWarmupAsync(double rate, long count, CancellationToken cancellationToken) =>
        RunAsync(rate, count, warmup: true, cancellationToken);

    public Task RunAsync(double rate, long count, CancellationToken cancellationToken) =>
        RunAsync(rate, count, warmup: false, cancellationToken);

    private async Task RunAsync(double rate, long count, bool warmup, CancellationToken cancellationToken)
    {
        var buffer = new byte[payloadBytes];
        var start = Stopwatch.GetTimestamp();
        long sent = 0;
        while (sent < count)
        {
            var due = Math.Min(count, (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * rate) + 1);
            while (sent < due)
            {
                var topic = topics[(int)(sent % topics.Count)];
                var seq = warmup ? -1 - sent : sent / topics.Count;
                BenchPayload.Write(buffer, seq, Stopwatch.GetTimestamp());
                await publisher.PublishAsync(topic, buffer, cancellationToken);
                sent++;
                if (!warmup)
                {
                    Volatile.Write(ref _sent, sent);
                }
            }

            if (sent < count)
            {
                await Task.Delay(1, cancellationToken);
            }
        }

        await publisher.FlushAsync(cancellationToken);
    }
}
