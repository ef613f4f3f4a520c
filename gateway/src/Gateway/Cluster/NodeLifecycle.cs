namespace PubSubGateway.Cluster;

public enum NodeState
{
    Active,
    Draining,
    Drained,
}

/// <summary>
/// The node's drain state. Readiness follows it (a draining node answers 503 on /healthz/ready),
/// and every change wakes the heartbeat so routers learn it within one KV round trip.
/// </summary>
internal sealed class NodeLifecycle : IDisposable
{
    private readonly Lock _lock = new();
    private readonly SemaphoreSlim _changed = new(0, 1);
    private NodeState _state = NodeState.Active;

    public NodeState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    public bool IsAcceptingClients => State == NodeState.Active;

    /// <summary>Moves to <paramref name="to"/> if the state is <paramref name="from"/>; returns the state before.</summary>
    public bool TryMove(NodeState from, NodeState to, out NodeState before)
    {
        lock (_lock)
        {
            before = _state;
            if (_state != from)
            {
                return false;
            }

            _state = to;
        }

        Signal();
        return true;
    }

    /// <summary>Waits until the state changed (or <paramref name="timeout"/> passed).</summary>
    public Task<bool> WaitChangedAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        _changed.WaitAsync(timeout, cancellationToken);

    private void Signal()
    {
        try
        {
            _changed.Release();
        }
        catch (SemaphoreFullException)
        {
            // A wake-up is already pending; one heartbeat reports both changes.
        }
    }

    public void Dispose() => _changed.Dispose();

    public static string Name(NodeState state) => state switch
    {
        NodeState.Active => "active",
        NodeState.Draining => "draining",
        _ => "drained",
    };
}
