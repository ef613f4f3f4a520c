using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using PubSubGateway.Configuration;
using PubSubGateway.Connections;
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
    private int _busSubscriptions;

    public TopicRegistry(IMessageBus bus, GatewayMetrics metrics, IOptions<GatewayOptions> options, ILogger<TopicRegistry> logger)
    {
        _bus = bus;
        _metrics = metrics;
        _logger = logger;
        _subjectPrefix = options.Value.SubjectPrefix + ".";
        _maxPayloadBytes = options.Value.Limits.MaxPayloadBytes;
        _stripes = new Lock[StripeCount];
        for (var i = 0; i < _stripes.Length; i++)
        {
            _stripes[i] = new Lock();
        }
    }

    public string SubjectPrefix => _subjectPrefix;

    public int TopicCount => _entries.Count;

    public int BusSubscriptionCount => Volatile.Read(ref _busSubscriptions);

    public string SubjectFor(string topic) => _subjectPrefix + topic;

    /// <summary>Adds a subscriber; completes once the broker subscription for the key is live.</summary>
    public async Task AddAsync(string key, ClientConnection connection, CancellationToken cancellationToken)
    {
        TopicEntry entry;
        lock (StripeFor(key))
        {
            if (!_entries.TryGetValue(key, out entry!))
            {
                entry = new TopicEntry(key, _subjectPrefix.Length, _maxPayloadBytes, _metrics);
                entry.BusSubscription = SubscribeAsync(entry);
                _entries[key] = entry;
                _metrics.Topics.Inc();
            }

            if (entry.Add(connection))
            {
                _metrics.Subscriptions.Inc();
            }
        }

        try
        {
            await entry.BusSubscription.WaitAsync(cancellationToken);
        }
        catch
        {
            await RemoveAsync(key, connection);
            throw;
        }
    }

    public async Task RemoveAsync(string key, ClientConnection connection)
    {
        TopicEntry? emptied = null;
        lock (StripeFor(key))
        {
            if (!_entries.TryGetValue(key, out var entry) || !entry.Remove(connection))
            {
                return;
            }

            _metrics.Subscriptions.Dec();
            if (entry.Count == 0)
            {
                _entries.TryRemove(key, out _);
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
            Log.UnsubscribeFailed(_logger, entry.Key, ex);
        }
    }

    private Lock StripeFor(string key) => _stripes[(StringComparer.Ordinal.GetHashCode(key) & int.MaxValue) % StripeCount];

    private static partial class Log
    {
        [LoggerMessage(20, LogLevel.Warning, "Removing the broker subscription for {Topic} failed", EventName = "UnsubscribeFailed")]
        public static partial void UnsubscribeFailed(ILogger logger, string topic, Exception exception);
    }
}
