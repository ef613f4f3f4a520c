using System.Collections.Concurrent;

namespace PubSubGateway.ControlPlane.Routing;

/// <summary>
/// WebSocket upgrades this router sent to each node since that node's last heartbeat. A heartbeat
/// is up to one interval old: without this count a burst of 1,000 upgrades would all pick the same
/// "least loaded" node before its next heartbeat shows them.
/// </summary>
internal sealed class RoutingLoad
{
    private readonly ConcurrentDictionary<string, StrongBox<int>> _sent = new(StringComparer.Ordinal);

    public int SentSinceHeartbeat(string nodeId) => _sent.TryGetValue(nodeId, out var box) ? Volatile.Read(ref box.Value) : 0;

    public void Sent(string nodeId) => Interlocked.Increment(ref _sent.GetOrAdd(nodeId, static _ => new StrongBox<int>()).Value);

    public void HeartbeatReceived(string nodeId)
    {
        if (_sent.TryGetValue(nodeId, out var box))
        {
            Interlocked.Exchange(ref box.Value, 0);
        }
    }

    public void Forget(string nodeId) => _sent.TryRemove(nodeId, out _);

    private sealed class StrongBox<T>
    {
        public T Value = default!;
    }
}
