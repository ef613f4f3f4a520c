using PubSubGateway.Connections;

namespace PubSubGateway.Tests.Unit;

/// <summary>The one-writer-at-a-time gate of a connection's socket.</summary>
public sealed class WriteGateTests
{
    [Fact]
    public void A_free_gate_is_taken_once_until_it_is_left()
    {
        var gate = new WriteGate();
        Assert.True(gate.TryEnter());
        Assert.False(gate.TryEnter());
        gate.Exit();
        Assert.True(gate.TryEnter());
    }

    [Fact]
    public async Task Waiters_get_the_gate_in_order_one_at_a_time()
    {
        var gate = new WriteGate();
        Assert.True(gate.TryEnter());
        var first = gate.EnterAsync(default).AsTask();
        var second = gate.EnterAsync(default).AsTask();
        Assert.False(first.IsCompleted);

        gate.Exit();
        await first.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(second.IsCompleted);
        Assert.False(gate.TryEnter());

        gate.Exit();
        await second.WaitAsync(TimeSpan.FromSeconds(5));
        gate.Exit();
        Assert.True(gate.TryEnter());
    }

    [Fact]
    public async Task A_cancelled_waiter_is_skipped_and_the_gate_ends_free()
    {
        var gate = new WriteGate();
        Assert.True(gate.TryEnter());
        using var cancel = new CancellationTokenSource();
        var cancelled = gate.EnterAsync(cancel.Token).AsTask();
        var next = gate.EnterAsync(default).AsTask();

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        gate.Exit();
        await next.WaitAsync(TimeSpan.FromSeconds(5));
        gate.Exit();
        Assert.True(gate.TryEnter());
    }

    [Fact]
    public async Task Many_threads_never_hold_it_together()
    {
        var gate = new WriteGate();
        var inside = 0;
        var overlaps = 0;
        var entries = 0;
        var tryHits = 0;
        var workers = Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 20_000; i++)
            {
                var tried = i % 3 == 0;
                if (tried ? gate.TryEnter() : await EnterAsync(gate))
                {
                    if (tried)
                    {
                        Interlocked.Increment(ref tryHits);
                    }

                    if (Interlocked.Increment(ref inside) != 1)
                    {
                        Interlocked.Increment(ref overlaps);
                    }

                    Interlocked.Increment(ref entries);
                    if (i % 64 == 0)
                    {
                        await Task.Yield();
                    }

                    Interlocked.Decrement(ref inside);
                    gate.Exit();
                }
            }
        })).ToArray();

        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, overlaps);

        // Every waiting entry got in (how many TryEnter calls found the gate free depends on the machine's load).
        var waitedEntries = 8 * Enumerable.Range(0, 20_000).Count(i => i % 3 != 0);
        Assert.Equal(waitedEntries + tryHits, entries);
        Assert.True(gate.TryEnter());
    }

    private static async Task<bool> EnterAsync(WriteGate gate)
    {
        await gate.EnterAsync(default);
        return true;
    }
}
