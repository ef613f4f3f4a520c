using System.Collections.Frozen;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using PubSubGateway.Cluster;
using PubSubGateway.ControlPlane.Configuration;

namespace PubSubGateway.ControlPlane.Registry;

/// <summary>
/// Watches the node bucket and keeps the live-node view. It holds no state of its own: every
/// replica watching the same bucket converges on the same view. Entries expire here after
/// <c>ControlPlane:NodeTtlMs</c> without a heartbeat, because bucket MaxAge removes them silently.
/// </summary>
internal sealed partial class NodeRegistry : BackgroundService
{
    private readonly NatsConnection _nats;
    private readonly IOptions<ControlPlaneOptions> _options;
    private readonly ILogger<NodeRegistry> _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, NodeEntry> _nodes = new(StringComparer.Ordinal);
    private RegistrySnapshot _current;
    private CancellationTokenSource _changed = new();
    private volatile bool _loaded;

    public NodeRegistry(NatsConnection nats, IOptions<ControlPlaneOptions> options, ILogger<NodeRegistry> logger)
    {
        _nats = nats;
        _options = options;
        _logger = logger;
        _current = new RegistrySnapshot(FrozenDictionary<string, NodeEntry>.Empty, new CancellationChangeToken(_changed.Token));
    }

    /// <summary>Raised (outside the lock) for every heartbeat received, with the node id.</summary>
    public event Action<string>? HeartbeatReceived;

    /// <summary>A node appeared after the initial load (a scale-out), with its first heartbeat.</summary>
    public event Action<NodeHeartbeat>? NodeJoined;

    public RegistrySnapshot Current => Volatile.Read(ref _current);

    /// <summary>True once the initial contents of the bucket were read.</summary>
    public bool IsLoaded => _loaded;

    private TimeSpan Ttl => TimeSpan.FromMilliseconds(_options.Value.NodeTtlMs);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pruning = PruneLoopAsync(stoppingToken);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await WatchAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is NatsException or NatsJSException or NatsKVException or TimeoutException)
            {
                Log.WatchFailed(_logger, ex.Message);
            }

            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        await pruning;
    }

    private async Task WatchAsync(CancellationToken stoppingToken)
    {
        var kv = new NatsKVContext(new NatsJSContext(_nats));
        var store = await OpenBucketAsync(kv, stoppingToken);
        var watchOpts = new NatsKVWatchOpts
        {
            OnNoData = _ =>
            {
                MarkLoaded();
                return ValueTask.FromResult(false);
            },
        };

        await foreach (var entry in store.WatchAsync<byte[]>(opts: watchOpts, cancellationToken: stoppingToken))
        {
            Apply(entry);
            if (entry.Delta == 0)
            {
                MarkLoaded();
            }
        }
    }

    private async Task<INatsKVStore> OpenBucketAsync(NatsKVContext kv, CancellationToken cancellationToken)
    {
        var bucket = _options.Value.Bucket;
        try
        {
            return await kv.GetStoreAsync(bucket, cancellationToken);
        }
        catch (NatsKVException)
        {
            // No node has started yet: create the bucket the nodes would create.
        }
        catch (NatsJSApiException ex) when (ex.Error.Code == 404)
        {
        }

        return await kv.CreateOrUpdateStoreAsync(
            new NatsKVConfig(bucket) { History = 1, MaxAge = Ttl, Storage = NatsKVStorageType.Memory, Description = "pubsub-gateway node heartbeats (key = node id)" },
            cancellationToken);
    }

    private void Apply(NatsKVEntry<byte[]> entry)
    {
        var now = Stopwatch.GetTimestamp();
        if (entry.Operation is NatsKVOperation.Del or NatsKVOperation.Purge)
        {
            Update(nodes => nodes.Remove(entry.Key));
            Log.NodeLeft(_logger, entry.Key, "deregistered");
            return;
        }

        NodeHeartbeat? heartbeat;
        try
        {
            heartbeat = entry.Value is { Length: > 0 } bytes ? JsonSerializer.Deserialize(bytes, RegistryJsonContext.Default.NodeHeartbeat) : null;
        }
        catch (JsonException)
        {
            heartbeat = null;
        }

        if (heartbeat is null || heartbeat.Id != entry.Key || !Uri.TryCreate(heartbeat.Url, UriKind.Absolute, out _))
        {
            Log.BadEntry(_logger, entry.Key);
            return;
        }

        // During the initial read the entry may be old: age it from the time it was written
        // (server clock), afterwards from the time it arrived (our clock).
        var seen = now;
        if (!_loaded)
        {
            var age = DateTimeOffset.UtcNow - entry.Created;
            if (age > TimeSpan.Zero)
            {
                seen -= (long)(age.TotalSeconds * Stopwatch.Frequency);
            }
        }

        var added = false;
        Update(nodes =>
        {
            added = !nodes.ContainsKey(entry.Key);
            nodes[entry.Key] = new NodeEntry(heartbeat, entry.Revision, seen);
            return true;
        });

        if (added)
        {
            Log.NodeJoined(_logger, heartbeat.Id, heartbeat.Url!, heartbeat.State);
            if (_loaded)
            {
                NodeJoined?.Invoke(heartbeat);
            }
        }

        HeartbeatReceived?.Invoke(heartbeat.Id);
    }

    private async Task PruneLoopAsync(CancellationToken stoppingToken)
    {
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_options.Value.NodeTtlMs / 8, 50, 1_000));
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var ttl = Ttl;
                var expired = Current.Nodes.Values.Where(n => Stopwatch.GetElapsedTime(n.SeenAtTicks) > ttl).Select(n => n.Id).ToList();
                if (expired.Count == 0)
                {
                    continue;
                }

                Update(nodes =>
                {
                    foreach (var id in expired)
                    {
                        nodes.Remove(id);
                    }

                    return true;
                });
                foreach (var id in expired)
                {
                    Log.NodeLeft(_logger, id, "heartbeat expired");
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void MarkLoaded()
    {
        if (!_loaded)
        {
            _loaded = true;
            Log.Loaded(_logger, Current.Nodes.Count);
        }
    }

    /// <summary>Applies a change to the working map and publishes a new snapshot if it changed anything.</summary>
    private void Update(Func<Dictionary<string, NodeEntry>, bool> change)
    {
        CancellationTokenSource previous;
        lock (_lock)
        {
            if (!change(_nodes))
            {
                return;
            }

            previous = _changed;
            _changed = new CancellationTokenSource();
            Volatile.Write(ref _current, new RegistrySnapshot(_nodes.ToFrozenDictionary(StringComparer.Ordinal), new CancellationChangeToken(_changed.Token)));
        }

        previous.Cancel();
        previous.Dispose();
    }

    public override void Dispose()
    {
        _changed.Dispose();
        base.Dispose();
    }

    private static partial class Log
    {
        [LoggerMessage(100, LogLevel.Information, "Node {NodeId} joined at {Url} ({State})", EventName = "NodeJoined")]
        public static partial void NodeJoined(ILogger logger, string nodeId, string url, string state);

        [LoggerMessage(101, LogLevel.Information, "Node {NodeId} left: {Reason}", EventName = "NodeLeft")]
        public static partial void NodeLeft(ILogger logger, string nodeId, string reason);

        [LoggerMessage(102, LogLevel.Warning, "Ignoring unreadable registry entry {Key}", EventName = "BadRegistryEntry")]
        public static partial void BadEntry(ILogger logger, string key);

        [LoggerMessage(103, LogLevel.Warning, "Registry watch failed ({Reason}); retrying", EventName = "RegistryWatchFailed")]
        public static partial void WatchFailed(ILogger logger, string reason);

        [LoggerMessage(104, LogLevel.Information, "Registry loaded: {Count} nodes", EventName = "RegistryLoaded")]
        public static partial void Loaded(ILogger logger, int count);
    }
}
