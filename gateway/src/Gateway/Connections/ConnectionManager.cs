using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using PubSubGateway.Configuration;
using PubSubGateway.Observability;

namespace PubSubGateway.Connections;

/// <summary>Tracks the node's open connections: the connection limit, counts for metrics, and closing them all.</summary>
internal sealed class ConnectionManager
{
    private readonly ConcurrentDictionary<long, ClientConnection> _connections = new();
    private readonly GatewayMetrics _metrics;
    private readonly int _maxConnections;
    private long _nextId;
    private int _reserved;
    private long _retiredPeakQueueBytes;

    public ConnectionManager(IOptions<GatewayOptions> options, GatewayMetrics metrics)
    {
        _metrics = metrics;
        _maxConnections = options.Value.Limits.MaxConnections;
        metrics.Registry.AddBeforeCollectCallback(UpdateQueueGauges);
    }

    public int Count => _connections.Count;

    public IEnumerable<ClientConnection> Connections => _connections.Values;

    /// <summary>Takes a slot under the connection limit; false when the node is full.</summary>
    public bool TryReserve()
    {
        if (Interlocked.Increment(ref _reserved) > _maxConnections)
        {
            Interlocked.Decrement(ref _reserved);
            return false;
        }

        return true;
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

        ReleaseReservation();
    }

    public void ReleaseReservation() => Interlocked.Decrement(ref _reserved);

    /// <summary>(total queued bytes now, largest queue any connection ever reached).</summary>
    public (long Queued, long Peak) QueueBytes()
    {
        long queued = 0, peak = Volatile.Read(ref _retiredPeakQueueBytes);
        foreach (var connection in _connections.Values)
        {
            queued += connection.Queue.Bytes;
            peak = Math.Max(peak, connection.Queue.PeakBytes);
        }

        return (queued, peak);
    }

    private void UpdateQueueGauges()
    {
        var (queued, peak) = QueueBytes();
        _metrics.OutboundQueueBytes.Set(queued);
        _metrics.OutboundQueuePeakBytes.Set(peak);
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
