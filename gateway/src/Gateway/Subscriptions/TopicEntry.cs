using System.Buffers;
using PubSubGateway.Durable;
using PubSubGateway.Messaging;
using PubSubGateway.Observability;
using PubSubGateway.Protocol;
using PubSubGateway.Topics;

namespace PubSubGateway.Subscriptions;

/// <summary>
/// Local subscribers of one topic or pattern, and the single broker feed that serves them (a core
/// NATS subscription, or for a durable topic a JetStream ordered consumer that adds sequences).
/// The subscriber list is copy-on-write: fan-out reads a snapshot without locking, and changes
/// (rare next to messages) copy the array under the registry's stripe lock.
/// </summary>
internal sealed class TopicEntry : IBusMessageHandler, IDurableMessageHandler
{
    private readonly GatewayMetrics _metrics;
    private readonly int _maxPayloadBytes;
    private readonly int _subjectPrefixLength;
    private readonly int _directWriteMaxSubscribers;
    private readonly byte[]? _exactHeader;
    private SubscriberList _subscribers = SubscriberList.Empty;

    public TopicEntry(string key, bool durable, int subjectPrefixLength, int maxPayloadBytes, int directWriteMaxSubscribers, GatewayMetrics metrics)
    {
        _directWriteMaxSubscribers = directWriteMaxSubscribers;
        Key = key;
        Durable = durable;
        _metrics = metrics;
        _maxPayloadBytes = maxPayloadBytes;
        _subjectPrefixLength = subjectPrefixLength;
        IsPattern = TopicRules.HasWildcard(key);
        _exactHeader = IsPattern ? null : ServerFrames.EncodeMessageHeader(key);
    }

    public string Key { get; }

    public bool IsPattern { get; }

    public bool Durable { get; }

    /// <summary>Completes when the broker feed is registered; set once by the registry.</summary>
    public Task<IAsyncDisposable> BusSubscription { get; set; } = null!;

    public int Count => Volatile.Read(ref _subscribers).Live;

    /// <summary>Caller holds the stripe lock.</summary>
    public void Add(Subscriber subscriber) => Volatile.Write(ref _subscribers, _subscribers.Add(subscriber));

    /// <summary>Caller holds the stripe lock.</summary>
    public void Remove(Subscriber subscriber)
    {
        subscriber.MarkRemoved();
        Volatile.Write(ref _subscribers, _subscribers.AfterRemoval());
    }

    /// <summary>
    /// Fan-out of a plain topic: validate once, encode once, queue the same frame on every
    /// subscriber. Measured with the loadtest fan-out scenario: one frame object plus one pooled
    /// buffer per message, no allocation per subscriber. A small fan-out writes into idle sockets
    /// directly; a large one hands each frame to the writer loops, which spread the sends over the
    /// cores and coalesce them. Written directly on this one thread, 1,000 subscribers at
    /// 1,000 msg/s got 430,000 deliveries/s (p50 6.2 s, 2.19 CPU-s per million) against 993,000/s
    /// (p50 51 ms, 0.88 CPU-s per million) through the writer loops (fan-out benchmark, one run each).
    /// </summary>
    public void OnMessage(string subject, in ReadOnlySequence<byte> payload)
    {
        var subscribers = Admit(payload);
        if (subscribers is null)
        {
            return;
        }

        var frame = _exactHeader is not null
            ? ServerFrames.Message(_exactHeader, payload, subscribers.Count)
            : ServerFrames.Message(subject.AsSpan(_subjectPrefixLength), payload, subscribers.Count);

        var direct = subscribers.Count <= _directWriteMaxSubscribers;
        var items = subscribers.Items;
        for (var i = 0; i < subscribers.Count; i++)
        {
            var subscriber = items[i];
            if (subscriber.IsRemoved)
            {
                frame.Release();
            }
            else
            {
                subscriber.Connection.Enqueue(frame, direct);
            }
        }
    }

    /// <summary>Fan-out of a durable topic: the frame carries <c>seq</c>; each subscriber applies its resume cursor.</summary>
    public void OnMessage(string subject, in ReadOnlySequence<byte> payload, ulong seq)
    {
        var subscribers = Admit(payload);
        if (subscribers is null)
        {
            return;
        }

        var frame = ServerFrames.MessageWithSeq(subject.AsSpan(_subjectPrefixLength), seq, payload, subscribers.Count);
        var direct = subscribers.Count <= _directWriteMaxSubscribers;
        var items = subscribers.Items;
        for (var i = 0; i < subscribers.Count; i++)
        {
            var subscriber = items[i];
            if (subscriber.IsRemoved)
            {
                frame.Release();
            }
            else
            {
                subscriber.DeliverLive(frame, seq, direct);
            }
        }
    }

    /// <summary>Counts and checks a message; returns the subscribers to serve, or null when it is dropped.</summary>
    private SubscriberList? Admit(in ReadOnlySequence<byte> payload)
    {
        _metrics.Received(MessageSource.Bus);
        if (payload.Length > _maxPayloadBytes)
        {
            _metrics.Dropped(DropReason.TooLarge);
            return null;
        }

        if (!JsonPayload.IsValid(payload))
        {
            _metrics.Dropped(DropReason.InvalidJson);
            return null;
        }

        var subscribers = Volatile.Read(ref _subscribers);
        return subscribers.Live == 0 ? null : subscribers;
    }
}
