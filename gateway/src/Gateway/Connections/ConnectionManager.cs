using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using PubSubGateway.Configuration;
using PubSubGateway.Observability;

namespace PubSubGateway.Connections;

/// <summary>Why a new connection was refused.</summary>
internal enum AdmissionResult
{
    Admitted,
    NodeFull,
    IpLimit,
    UserLimit,
}

/// <summary>
/// Tracks the node's open connections: the node, per-IP and per-user limits, counts for metrics,
/// and a once-a-second sweep that closes idle connections and those whose token expired (one timer
/// for the node rather than one per connection).
/// </summary>
internal sealed class ConnectionManager : IDisposable
{
    private readonly ConcurrentDictionary<long, ClientConnection> _connections = new();
    private readonly ConcurrentDictionary<string, int> _perIp = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _perUser = new(StringComparer.Ordinal);
    private readonly GatewayMetrics _metrics;
    private readonly LimitOptions _limits;
    private readonly Timer _sweeper;
    private long _nextId;
    private int _reserved;
    private long _retiredPeakQueueBytes;

    public ConnectionManager(IOptions<GatewayOptions> options, GatewayMetrics metrics)
    {
        _metrics = metrics;
        _limits = options.Value.Limits;
        metrics.Registry.AddBeforeCollectCallback(UpdateQueueGauges);
        _sweeper = new Timer(static s => ((ConnectionManager)s!).Sweep(), this, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    public int Count => _connections.Count;

    /// <summary>
    /// Every open connection, enumerated without a snapshot: <see cref="ConcurrentDictionary{TKey, TValue}.Values"/>
    /// takes every lock of the dictionary and copies the values into a new array each time (10,000
    /// connections: 80 KB; 19,000: a 152 KB large-object-heap array), which the once-a-second
    /// sweep did on every node (19 % of the bytes the gateway allocated in the `topics` benchmark,
    /// GatewayProfiler). Callers that need a stable set copy it themselves.
    /// </summary>
    public IEnumerable<ClientConnection> Connections
    {
        get
        {
            foreach (var (_, connection) in _connections)
            {
                yield return connection;
            }
        }
    }

    /// <summary>Takes a slot under the node, per-IP and per-user limits; release it with <see cref="Release"/>.</summary>
    public AdmissionResult TryAdmit(string ip, string? user)
    {
        if (Interlocked.Increment(ref _reserved) > _limits.MaxConnections)
        {
            Interlocked.Decrement(ref _reserved);
            return AdmissionResult.NodeFull;
        }

        if (_perIp.AddOrUpdate(ip, 1, static (_, n) => n + 1) > _limits.MaxConnectionsPerIp)
        {
            Release(ip, null);
            return AdmissionResult.IpLimit;
        }

        if (user is not null && _perUser.AddOrUpdate(user, 1, static (_, n) => n + 1) > _limits.MaxConnectionsPerUser)
        {
            Release(ip, user);
            return AdmissionResult.UserLimit;
        }

        return AdmissionResult.Admitted;
    }

    public void Release(string ip, string? user)
    {
        Interlocked.Decrement(ref _reserved);
        Decrement(_perIp, ip);
        if (user is not null)
        {
            Decrement(_perUser, user);
        }
    }

    public long Register(ClientConnection connection)
    {
        var id = Interlocked.Increment(ref _nextId);
        _connections[id] = connection;
        _metrics.Connections.Inc();
        _metrics.ConnectionsOpened.Inc();
        return id;
    }

    public void Unregister(long id, ClientConnection connection)
    {
        if (_connections.TryRemove(id, out _))
        {
            _metrics.Connections.Dec();
            InterlockedMax(ref _retiredPeakQueueBytes, connection.Queue.PeakBytes);
        }
    }

    /// <summary>(total queued bytes now, largest queue any connection ever reached).</summary>
    public (long Queued, long Peak) QueueBytes()
    {
        long queued = 0, peak = Volatile.Read(ref _retiredPeakQueueBytes);
        foreach (var (_, connection) in _connections)
        {
            queued += connection.Queue.Bytes;
            peak = Math.Max(peak, connection.Queue.PeakBytes);
        }

        return (queued, peak);
    }

    public void Dispose() => _sweeper.Dispose();

    private void Sweep()
    {
        var now = DateTimeOffset.UtcNow;
        var nowTicks = Environment.TickCount64;
        foreach (var (_, connection) in _connections)
        {
            connection.CheckDeadlines(now, nowTicks, _limits.IdleTimeoutMs);
        }
    }

    private void UpdateQueueGauges()
    {
        var (queued, peak) = QueueBytes();
        _metrics.OutboundQueueBytes.Set(queued);
        _metrics.OutboundQueuePeakBytes.Set(peak);
    }

    private static void Decrement(ConcurrentDictionary<string, int> counts, string key)
    {
        while (counts.TryGetValue(key, out var n))
        {
            if (n <= 1 ? counts.TryRemove(new KeyValuePair<string, int>(key, n)) : counts.TryUpdate(key, n - 1, n))
            {
                return;
            }
        }
    }

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Volatile.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }
}
