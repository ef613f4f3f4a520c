using PubSubGateway.Connections;
using PubSubGateway.Protocol;

namespace PubSubGateway.Subscriptions;

/// <summary>
/// One connection's subscription to one topic or pattern. For a durable topic it also holds the
/// resume cursor: the last stream sequence queued to the client. While history is being replayed
/// (after <c>sub</c> with <c>since</c>) live messages are held back here, then merged at the seam
/// by sequence so the client sees each message once, in order.
/// </summary>
/// <param name="since">
/// The client's resume point: the cursor starts there, not at 0. This node's feed can be behind the
/// node the client left; without it, live messages up to <c>since</c> that such a feed delivered after
/// an empty replay reached the client a second time (83 duplicates in one 15,000-client drain run).
/// </param>
internal sealed class Subscriber(TopicEntry entry, ClientConnection connection, bool replaying, int maxBufferedBytes, ulong since = 0)
{
    private readonly Lock _lock = new();
    private List<(OutboundFrame Frame, ulong Seq)>? _held = replaying ? [] : null;
    private long _heldBytes;
    private ulong _lastSeq = since;
    private bool _sealed;

    public ClientConnection Connection { get; } = connection;

    public TopicEntry Entry { get; } = entry;

    public string Key => Entry.Key;

    public bool Durable => Entry.Durable;

    /// <summary>Set once when the subscription is removed; fan-out skips it from then on.</summary>
    public bool IsRemoved => Volatile.Read(ref _removed);

    private bool _removed;

    /// <summary>Caller holds the registry's stripe lock.</summary>
    public void MarkRemoved() => Volatile.Write(ref _removed, true);

    /// <summary>Last stream sequence queued to the client (0 before the first).</summary>
    public ulong LastSeq
    {
        get
        {
            lock (_lock)
            {
                return _lastSeq;
            }
        }
    }

    /// <summary>
    /// Stops delivery and returns the cursor: used when the client is about to be told to reconnect,
    /// so the cursor in that frame is exactly the last message the client will get here.
    /// </summary>
    public ulong Seal()
    {
        lock (_lock)
        {
            _sealed = true;
            ReleaseHeld();
            return _lastSeq;
        }
    }

    /// <summary>A live message of a durable topic (from the node's stream feed).</summary>
    public void DeliverLive(OutboundFrame frame, ulong seq, bool direct)
    {
        lock (_lock)
        {
            if (_sealed)
            {
                frame.Release();
                return;
            }

            if (_held is not null)
            {
                _held.Add((frame, seq));
                _heldBytes += frame.Length;
                if (_heldBytes > maxBufferedBytes)
                {
                    // History replay can't keep up with live traffic: treat it like any slow consumer.
                    ReleaseHeld();
                    Connection.RequestClose(CloseCodes.SlowConsumer, "slow consumer (resume)", discardPending: true);
                }

                return;
            }

            QueueIfNew(frame, seq, direct);
        }
    }

    /// <summary>A message read from history during a resume.</summary>
    public void DeliverReplayed(OutboundFrame frame, ulong seq)
    {
        lock (_lock)
        {
            QueueIfNew(frame, seq, direct: false);
        }
    }

    /// <summary>Ends the replay: queues the live messages held meanwhile that the replay did not already cover.</summary>
    public void FinishReplay()
    {
        lock (_lock)
        {
            if (_held is null)
            {
                return;
            }

            foreach (var (frame, seq) in _held)
            {
                QueueIfNew(frame, seq, direct: false);
            }

            _held = null;
            _heldBytes = 0;
        }
    }

    /// <summary>Drops anything still held (the subscription is going away).</summary>
    public void Discard()
    {
        lock (_lock)
        {
            ReleaseHeld();
        }
    }

    private void QueueIfNew(OutboundFrame frame, ulong seq, bool direct)
    {
        if (seq > _lastSeq && !_sealed)
        {
            _lastSeq = seq;
            Connection.Enqueue(frame, direct);
        }
        else
        {
            frame.Release();
        }
    }

    private void ReleaseHeld()
    {
        if (_held is null)
        {
            return;
        }

        foreach (var (frame, _) in _held)
        {
            frame.Release();
        }

        _held = null;
        _heldBytes = 0;
    }
}
