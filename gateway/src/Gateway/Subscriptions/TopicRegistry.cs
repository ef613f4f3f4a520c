using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using PubSubGateway.Configuration;
using PubSubGateway.Connections;
using PubSubGateway.Durable;
using PubSubGateway.Messaging;
using PubSubGateway.Observability;

namespace PubSubGateway.Subscriptions;

/// <summary>
/// Reference-counted map from topic (or pattern) to local subscribers. The first local subscriber
/// of a key creates the node's one broker subscription for it; the last one leaving removes it.
/// Changes to a key happen under one of <see cref="StripeCount"/> striped locks so sub, unsub and
/// disconnect can race freely without a global lock.
/// </summary>
internal sealed partial class TopicRegistry
{
    private const int StripeCount = 64;

    private readonly ConcurrentDictionary<string, TopicEntry> _entries = new(StringComparer.Ordinal);
    private readonly Lock[] _stripes;
    private readonly IMessageBus _bus;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger<TopicRegistry> _logger;
    private readonly string _subjectPrefix;
    private readonly int _maxPayloadBytes;
    private readonly int _directWriteMaxSubscribers;
    private int _busSubscriptions;

    private readonly DurableTopics _durable;
    private readonly JetStreamLog? _log;
    private readonly int _maxHeldBytes;

    public TopicRegistry(IMessageBus bus, GatewayMetrics metrics, IOptions<GatewayOptions> options, DurableTopics durable, IServiceProvider services, ILogger<TopicRegistry> logger)
    {
        _bus = bus;
        _durable = durable;
        _log = durable.Enabled ? services.GetRequiredService<JetStreamLog>() : null;
        _maxHeldBytes = options.Value.Outbound.MaxQueueBytes;
        _metrics = metrics;
        _logger = logger;
        _subjectPrefix = options.Value.SubjectPrefix + ".";
        _maxPayloadBytes = options.Value.Limits.MaxPayloadBytes;
        _directWriteMaxSubscribers = options.Value.Outbound.DirectWriteMaxSubscribers;
        _stripes = new Lock[StripeCount];
        for (var i = 0; i < _stripes.Length; i++)
        {
            _stripes[i] = new Lock();
        }
    }

    public string SubjectPrefix => _subjectPrefix;

    public int TopicCount => _entries.Count;

    public string SubjectFor(string topic) => _subjectPrefix + topic;

    public bool IsDurable(string key) => _durable.IsDurable(key);

    /// <summary>The stream behind durable topics; null when none are configured.</summary>
    public JetStreamLog? Log => _log;

    /// <summary>
    /// Adds a subscriber; completes once the broker feed for the key is live. With
    /// <paramref name="since"/> (a resume) the subscriber holds live messages back until its replay
    /// ends and never queues a message at or below <paramref name="since"/>.
    /// </summary>
    public async Task<Subscriber> AddAsync(string key, ClientConnection connection, ulong? since, CancellationToken cancellationToken)
    {
        TopicEntry entry;
        Subscriber subscriber;
        lock (StripeFor(key))
        {
            if (!_entries.TryGetValue(key, out entry!))
            {
                entry = new TopicEntry(key, _durable.IsDurable(key), _subjectPrefix.Length, _maxPayloadBytes, _directWriteMaxSubscribers, _metrics);
                entry.BusSubscription = entry.Durable ? SubscribeDurableAsync(entry) : SubscribeAsync(entry);
                _entries[key] = entry;
                _metrics.Topics.Inc();
            }

            subscriber = entry.Durable && since is { } after
                ? new Subscriber(entry, connection, replaying: true, _maxHeldBytes, after)
                : new Subscriber(entry, connection, replaying: false, _maxHeldBytes);
            entry.Add(subscriber);
            _metrics.Subscriptions.Inc();
        }

        try
        {
            await entry.BusSubscription.WaitAsync(cancellationToken);
        }
        catch
        {
            await RemoveAsync(subscriber);
            throw;
        }

        return subscriber;
    }

    /// <summary>Removes a subscriber; the last one of a key takes the broker feed with it.</summary>
    public async Task RemoveAsync(Subscriber subscriber)
    {
        TopicEntry? emptied = null;
        var entry = subscriber.Entry;
        lock (StripeFor(entry.Key))
        {
            if (subscriber.IsRemoved)
            {
                return;
            }

            entry.Remove(subscriber);
            subscriber.Discard();
            _metrics.Subscriptions.Dec();
            if (entry.Count == 0 && _entries.TryGetValue(entry.Key, out var current) && ReferenceEquals(current, entry))
            {
                _entries.TryRemove(entry.Key, out _);
                _metrics.Topics.Dec();
                emptied = entry;
            }
        }

        if (emptied is not null)
        {
            await UnsubscribeAsync(emptied);
        }
    }

    private async Task<IAsyncDisposable> SubscribeAsync(TopicEntry entry)
    {
        // Yield so the broker call never runs under the caller's stripe lock.
        await Task.Yield();
        var subscription = await _bus.SubscribeAsync(_subjectPrefix + entry.Key, entry, CancellationToken.None);
        _metrics.NatsSubscriptions.Set(Interlocked.Increment(ref _busSubscriptions));
        return subscription;
    }

    /// <summary>A durable topic's feed: a JetStream ordered consumer starting after the stream's current end.</summary>
    private async Task<IAsyncDisposable> SubscribeDurableAsync(TopicEntry entry)
    {
        await Task.Yield();
        var start = await _log!.LastSequenceAsync(CancellationToken.None) + 1;
        var feed = await _log.SubscribeLiveAsync(_subjectPrefix + entry.Key, start, entry, CancellationToken.None);
        _metrics.NatsSubscriptions.Set(Interlocked.Increment(ref _busSubscriptions));
        return feed;
    }

    private async Task UnsubscribeAsync(TopicEntry entry)
    {
        try
        {
            var subscription = await entry.BusSubscription;
            await subscription.DisposeAsync();
            _metrics.NatsSubscriptions.Set(Interlocked.Decrement(ref _busSubscriptions));
        }
        catch (Exception ex)
        {
            TopicRegistryLog.UnsubscribeFailed(_logger, entry.Key, ex);
        }
    }

    private Lock StripeFor(string key) => _stripes[(StringComparer.Ordinal.GetHashCode(key) & int.MaxValue) % StripeCount];

    private static partial class TopicRegistryLog
    {
        [LoggerMessage(20, LogLevel.Warning, "Removing the broker subscription for {Topic} failed", EventName = "UnsubscribeFailed")]
        public static partial void UnsubscribeFailed(ILogger logger, string topic, Exception exception);
    }
}
