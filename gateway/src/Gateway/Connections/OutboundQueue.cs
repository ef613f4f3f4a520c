using System.Threading.Tasks.Sources;
using PubSubGateway.Configuration;
using PubSubGateway.Protocol;

namespace PubSubGateway.Connections;

/// <summary>
/// The bounded, byte-capped queue of frames waiting for one connection's socket, drained by a single
/// writer loop. Producers (fan-out, replies) never block: when the cap would be exceeded the queue
/// either refuses (the connection is then closed as a slow consumer) or drops its oldest frames.
/// The writer waits on a reusable <see cref="IValueTaskSource{TResult}"/>, so waking it allocates
/// nothing; an enqueue costs one short lock and, at most, one thread-pool work item.
/// <para>
/// While the writer is parked on an empty queue, a producer may instead claim the socket and write
/// its frame itself (<see cref="TryBeginDirect"/> … <see cref="EndDirect"/>): that skips the wake-up
/// and the thread-pool hop. Frames queued meanwhile wait, and the writer is woken for them only
/// when the direct write has ended, so they follow it in order.
/// </para>
/// </summary>
internal sealed class OutboundQueue : IValueTaskSource<bool>
{
    private readonly Lock _lock = new();
    private readonly int _maxBytes;
    private readonly bool _dropOldest;
    private ManualResetValueTaskSourceCore<bool> _signal = new() { RunContinuationsAsynchronously = true };
    private const int InitialSlots = 8;
    private const int ShrinkAbove = 256;
    private OutboundFrame[] _ring = new OutboundFrame[InitialSlots];
    private int _head;
    private int _count;
    private long _bytes;
    private long _peakBytes;
    private bool _waiting;
    private bool _completed;
    private bool _direct;

    public OutboundQueue(int maxBytes, SlowConsumerPolicy policy)
    {
        _maxBytes = maxBytes;
        _dropOldest = policy == SlowConsumerPolicy.DropOldest;
    }

    public long Bytes => Volatile.Read(ref _bytes);

    public long PeakBytes => Volatile.Read(ref _peakBytes);

    public int Count => Volatile.Read(ref _count);

    /// <summary>
    /// Queues a frame, taking over one of its references (released here if it is not queued).
    /// Returns the number of older frames dropped to make room, or -1 when the frame was refused
    /// because the queue is full (Disconnect policy) or already completed.
    /// </summary>
    public int Enqueue(OutboundFrame frame)
    {
        var dropped = 0;
        var wake = false;
        lock (_lock)
        {
            if (_completed)
            {
                frame.Release();
                return -1;
            }

            if (_bytes + frame.Length > _maxBytes)
            {
                if (!_dropOldest)
                {
                    frame.Release();
                    return -1;
                }

                while (_count > 0 && _bytes + frame.Length > _maxBytes)
                {
                    DequeueLocked().Release();
                    dropped++;
                }
            }

            if (_count == _ring.Length)
            {
                Grow();
            }

            _ring[(_head + _count) % _ring.Length] = frame;
            _count++;
            _bytes += frame.Length;
            if (_bytes > _peakBytes)
            {
                _peakBytes = _bytes;
            }

            if (_waiting && !_direct)
            {
                _waiting = false;
                wake = true;
            }
        }

        if (wake)
        {
            _signal.SetResult(true);
        }

        return dropped;
    }

    public bool TryDequeue(out OutboundFrame frame)
    {
        lock (_lock)
        {
            if (_count == 0)
            {
                frame = null!;
                return false;
            }

            frame = DequeueLocked();
            return true;
        }
    }

    /// <summary>
    /// Claims the socket for one direct write: only while the writer is parked, nothing is queued,
    /// no other direct write is under way and the queue is open. The caller must call
    /// <see cref="EndDirect"/> once its write has completed (or was not started).
    /// </summary>
    public bool TryBeginDirect()
    {
        lock (_lock)
        {
            if (!_waiting || _direct || _count != 0 || _completed)
            {
                return false;
            }

            _direct = true;
            return true;
        }
    }

    /// <summary>Ends a direct write; wakes the writer for frames queued during it.</summary>
    public void EndDirect()
    {
        lock (_lock)
        {
            _direct = false;
            if (!_waiting || _count == 0)
            {
                return;
            }

            _waiting = false;
        }

        _signal.SetResult(true);
    }

    /// <summary>Completes when a frame is queued (true) or the queue is completed and empty (false).</summary>
    public ValueTask<bool> WaitAsync()
    {
        lock (_lock)
        {
            if (_count > 0)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _signal.Reset();
            _waiting = true;
            return new ValueTask<bool>(this, _signal.Version);
        }
    }

    /// <summary>No more frames will be accepted; optionally discards what is still queued.</summary>
    public void Complete(bool discardPending)
    {
        var wake = false;
        var pending = false;
        lock (_lock)
        {
            _completed = true;
            if (discardPending)
            {
                while (_count > 0)
                {
                    DequeueLocked().Release();
                }
            }

            if (_waiting)
            {
                // Frames queued behind a direct write are still owed to the peer before the close.
                _waiting = false;
                wake = true;
                pending = _count > 0;
            }
        }

        if (wake)
        {
            _signal.SetResult(pending);
        }
    }

    private OutboundFrame DequeueLocked()
    {
        var frame = _ring[_head];
        _ring[_head] = null!;
        _head = (_head + 1) % _ring.Length;
        _count--;
        _bytes -= frame.Length;
        if (_count == 0 && _ring.Length > ShrinkAbove)
        {
            // A backlog grew the ring; once it has drained, give the memory back instead of
            // keeping up to MaxQueueBytes/frame-size slots per connection for good.
            _ring = new OutboundFrame[InitialSlots];
            _head = 0;
        }

        return frame;
    }

    private void Grow()
    {
        var bigger = new OutboundFrame[_ring.Length * 2];
        for (var i = 0; i < _count; i++)
        {
            bigger[i] = _ring[(_head + i) % _ring.Length];
        }

        _ring = bigger;
        _head = 0;
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _signal.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _signal.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _signal.OnCompleted(continuation, state, token, flags);
}
