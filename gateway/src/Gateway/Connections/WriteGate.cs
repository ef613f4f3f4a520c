namespace PubSubGateway.Connections;

/// <summary>
/// Lets one write at a time onto a connection's socket. Taking and leaving a free gate is one
/// compare-exchange each: the writer loop and direct writes do that once per socket write, which
/// at a million deliveries a second is about once per delivery (SemaphoreSlim, used before, takes
/// its internal monitor on both sides). Waiting is the rare case: ManagedWebSocket's pings, pongs
/// and close frame while a batch is being written. Waiters are served in order.
/// </summary>
internal sealed class WriteGate
{
    private const int Free = 0;
    private const int Held = 1;
    private const int HeldWithWaiters = 2;

    private readonly Queue<TaskCompletionSource> _waiters = new();
    private int _state;

    /// <summary>Takes the gate if it is free; false (nothing taken) otherwise.</summary>
    public bool TryEnter() => Interlocked.CompareExchange(ref _state, Held, Free) == Free;

    /// <summary>Takes the gate, waiting for the current holder (and earlier waiters) to leave.</summary>
    public ValueTask EnterAsync(CancellationToken cancellationToken)
    {
        if (TryEnter())
        {
            return ValueTask.CompletedTask;
        }

        cancellationToken.ThrowIfCancellationRequested();
        TaskCompletionSource waiter;
        lock (_waiters)
        {
            while (true)
            {
                var state = Volatile.Read(ref _state);
                if (state == Free)
                {
                    if (Interlocked.CompareExchange(ref _state, Held, Free) == Free)
                    {
                        return ValueTask.CompletedTask;
                    }
                }
                else if (state == HeldWithWaiters || Interlocked.CompareExchange(ref _state, HeldWithWaiters, Held) == Held)
                {
                    break;
                }
            }

            waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter);
        }

        return cancellationToken.CanBeCanceled ? WaitCancellableAsync(waiter, cancellationToken) : new ValueTask(waiter.Task);
    }

    /// <summary>Leaves the gate, handing it to the first waiter if there is one.</summary>
    public void Exit()
    {
        if (Interlocked.CompareExchange(ref _state, Free, Held) == Held)
        {
            return;
        }

        while (true)
        {
            TaskCompletionSource next;
            lock (_waiters)
            {
                if (_waiters.Count == 0)
                {
                    Volatile.Write(ref _state, Free);
                    return;
                }

                next = _waiters.Dequeue();
                Volatile.Write(ref _state, _waiters.Count == 0 ? Held : HeldWithWaiters);
            }

            // The gate passes to this waiter unless it was cancelled meanwhile; then to the next.
            if (next.TrySetResult())
            {
                return;
            }
        }
    }

    private static async ValueTask WaitCancellableAsync(TaskCompletionSource waiter, CancellationToken cancellationToken)
    {
        await using (cancellationToken.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetCanceled(), waiter))
        {
            // A cancelled waiter stays queued; Exit skips it because TrySetResult fails on it.
            await waiter.Task.ConfigureAwait(false);
        }
    }
}
