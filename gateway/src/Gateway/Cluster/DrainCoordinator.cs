using Microsoft.Extensions.Options;
using PubSubGateway.Connections;

namespace PubSubGateway.Cluster;

/// <summary>
/// Runs drains (all clients, node goes <c>draining</c> then <c>drained</c>) and sheds (some clients,
/// node stays <c>active</c>). One drain at a time; <c>undrain</c> cancels it and makes the node active.
/// </summary>
internal sealed partial class DrainCoordinator(
    NodeLifecycle lifecycle,
    ConnectionManager connections,
    ConnectionShedder shedder,
    IOptions<DrainOptions> options,
    ILogger<DrainCoordinator> logger) : IDisposable
{
    // How often a drained node looks for clients that connected directly (not through a router).
    private static readonly TimeSpan SweepInterval = TimeSpan.FromMilliseconds(250);

    private readonly Lock _lock = new();
    private CancellationTokenSource? _drain;
    private TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public NodeState CurrentState => lifecycle.State;

    public TimeSpan DefaultWindow => TimeSpan.FromMilliseconds(options.Value.WindowMs);

    /// <summary>Starts a drain; false (with the current state) when the node is not active.</summary>
    public bool TryStartDrain(TimeSpan window, string reason, out NodeState state)
    {
        lock (_lock)
        {
            if (!lifecycle.TryMove(NodeState.Active, NodeState.Draining, out state))
            {
                return false;
            }

            state = NodeState.Draining;
            _drain = new CancellationTokenSource();
            _drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var token = _drain.Token;
            var drained = _drained;
            Log.DrainStarted(logger, connections.Count, (int)window.TotalMilliseconds, reason);
            _ = Task.Run(() => DrainAsync(window, reason, drained, token), CancellationToken.None);
            return true;
        }
    }

    /// <summary>Completes when the running drain reported <c>drained</c> (at once if there is none).</summary>
    public Task WhenDrained
    {
        get
        {
            lock (_lock)
            {
                return lifecycle.State == NodeState.Active ? Task.CompletedTask : _drained.Task;
            }
        }
    }

    /// <summary>Cancels a drain and makes the node active again; false (with the state) when it was active.</summary>
    public bool TryUndrain(out NodeState state)
    {
        lock (_lock)
        {
            state = lifecycle.State;
            if (state == NodeState.Active)
            {
                return false;
            }

            _drain?.Cancel();
            lifecycle.TryMove(state, NodeState.Active, out _);
            _drained.TrySetResult();
            state = NodeState.Active;
            Log.Undrained(logger);
            return true;
        }
    }

    /// <summary>Sheds up to <paramref name="count"/> clients over <paramref name="window"/> in the background; returns how many were picked.</summary>
    public int Shed(int count, TimeSpan window, string reason, CancellationToken stopping)
    {
        var targets = connections.Connections.Where(c => !c.IsClosing).Take(count).ToList();
        Log.Shedding(logger, targets.Count, (int)window.TotalMilliseconds, reason);
        _ = Task.Run(async () =>
        {
            try
            {
                await shedder.ShedAsync(targets, reason, window, stopping);
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);
        return targets.Count;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _drain?.Cancel();
            _drain?.Dispose();
        }
    }

    private async Task DrainAsync(TimeSpan window, string reason, TaskCompletionSource drained, CancellationToken token)
    {
        try
        {
            var targets = connections.Connections.Where(c => !c.IsClosing).ToList();
            await shedder.ShedAsync(targets, reason, window, token);

            // Clients that arrived while draining (directly, not through a router) and clients whose
            // close handshake is still running: tell the newcomers at once, wait for the rest.
            Sweep(reason);
            while (connections.Count > 0 && !token.IsCancellationRequested)
            {
                await Task.Delay(SweepInterval, token);
                Sweep(reason);
            }

            if (lifecycle.TryMove(NodeState.Draining, NodeState.Drained, out _))
            {
                Log.Drained(logger);
            }

            drained.TrySetResult();
            while (!token.IsCancellationRequested)
            {
                await Task.Delay(SweepInterval, token);
                Sweep(reason);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            drained.TrySetResult();
        }
    }

    private void Sweep(string reason)
    {
        foreach (var connection in connections.Connections)
        {
            ConnectionShedder.TryMove(connection, reason, afterMs: 0);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(400, LogLevel.Information, "Draining {Connections} connections over {WindowMs} ms (reason {Reason})", EventName = "DrainStarted")]
        public static partial void DrainStarted(ILogger logger, int connections, int windowMs, string reason);

        [LoggerMessage(401, LogLevel.Information, "Drain complete: no clients left", EventName = "Drained")]
        public static partial void Drained(ILogger logger);

        [LoggerMessage(402, LogLevel.Information, "Undrained: accepting clients again", EventName = "Undrained")]
        public static partial void Undrained(ILogger logger);

        [LoggerMessage(403, LogLevel.Information, "Shedding {Count} connections over {WindowMs} ms (reason {Reason})", EventName = "Shedding")]
        public static partial void Shedding(ILogger logger, int count, int windowMs, string reason);
    }
}
