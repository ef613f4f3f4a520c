using System.Diagnostics;
using PubSubGateway.LoadTest.Payloads;

namespace PubSubGateway.LoadTest.Publishing;

/// <summary>
/// Publishes <c>count</c> messages at a fixed rate, spread round-robin over topics. Each pass of the
/// loop sends every message that is due by now, then sleeps ~1 ms, so the schedule never drifts:
/// a late pass catches up. Each payload is stamped just before its publish call. The loop runs on a
/// dedicated thread: with thousands of client receive loops on the thread pool, a publisher
/// continuation queued behind them was measured to fall to half the requested rate.
/// </summary>
internal sealed class PacedPublisher(IBenchPublisher publisher, IReadOnlyList<string> topics, int payloadBytes)
{
    private long _sent;
    private long _warmupSent;
    private volatile bool _stopRequested;
    private volatile bool _warmupEndRequested;

    public long Sent => Volatile.Read(ref _sent);

    /// <summary>Ends a running <see cref="RunAsync(double, long, CancellationToken)"/> after the message in flight; <see cref="Sent"/> is then exact.</summary>
    public void Stop() => _stopRequested = true;

    /// <summary>Warm-up messages published by the last <see cref="RunWarmupAsync"/>.</summary>
    public long WarmupSent => Volatile.Read(ref _warmupSent);

    /// <summary>Ends a running <see cref="RunWarmupAsync"/> at the next multiple of the topic count, so every topic got as many warm-up messages.</summary>
    public void EndWarmup() => _warmupEndRequested = true;

    /// <summary>Warm-up messages carry seq -1, -2, … and are not counted by clients.</summary>
    public Task RunWarmupAsync(double rate, long count, CancellationToken cancellationToken)
    {
        // Cleared here, not on the publishing thread: an EndWarmup() right after this call must count.
        _warmupEndRequested = false;
        Volatile.Write(ref _warmupSent, 0);
        return RunAsync(rate, count, warmup: true, cancellationToken);
    }

    public Task RunAsync(double rate, long count, CancellationToken cancellationToken) =>
        RunAsync(rate, count, warmup: false, cancellationToken);

    private async Task RunAsync(double rate, long count, bool warmup, CancellationToken cancellationToken)
    {
        await Task.Factory.StartNew(() => Loop(rate, count, warmup, cancellationToken), cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        await publisher.FlushAsync(cancellationToken);
    }

    private void Loop(double rate, long count, bool warmup, CancellationToken cancellationToken)
    {
        var buffer = new byte[payloadBytes];
        var start = Stopwatch.GetTimestamp();
        long sent = 0;
        while (sent < count && !_stopRequested)
        {
            if (warmup && _warmupEndRequested)
            {
                count = Math.Min(count, (sent + topics.Count - 1) / topics.Count * topics.Count);
            }

            cancellationToken.ThrowIfCancellationRequested();
            var due = Math.Min(count, (long)(Stopwatch.GetElapsedTime(start).TotalSeconds * rate) + 1);
            while (sent < due)
            {
                var topic = topics[(int)(sent % topics.Count)];
                var seq = warmup ? -1 - sent : sent / topics.Count;
                BenchPayload.Write(buffer, seq, Stopwatch.GetTimestamp());
                var pending = publisher.PublishAsync(topic, buffer, cancellationToken);
                if (!pending.IsCompletedSuccessfully)
                {
                    pending.AsTask().GetAwaiter().GetResult();
                }

                sent++;
                Volatile.Write(ref warmup ? ref _warmupSent : ref _sent, sent);
            }

            if (sent < count && !_stopRequested)
            {
                Thread.Sleep(1);
            }
        }
    }
}
