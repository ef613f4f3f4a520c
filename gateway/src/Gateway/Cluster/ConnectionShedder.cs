using Microsoft.Extensions.Options;
using PubSubGateway.Connections;
using PubSubGateway.Protocol;

namespace PubSubGateway.Cluster;

/// <summary>
/// Moves clients off the node at a steady rate: connection i of n gets <c>reconnect</c> at a random
/// point inside slot i of the window, then a 1001 close. Telling 10,000 clients at once would have
/// them all hit the router (and the remaining nodes) within a few milliseconds.
/// </summary>
internal sealed class ConnectionShedder(IOptions<DrainOptions> options, TimeProvider time)
{
    // The last slot ends at 80 % of the window so the last clients' after_ms and close handshakes
    // still finish inside it.
    private const double SpreadFraction = 0.8;

    public async Task<int> ShedAsync(IReadOnlyList<ClientConnection> targets, string reason, TimeSpan window, CancellationToken cancellationToken)
    {
        if (targets.Count == 0)
        {
            return 0;
        }

        var start = time.GetTimestamp();
        var slot = window * SpreadFraction / targets.Count;
        var maxDelay = (int)Math.Min(options.Value.MaxReconnectDelayMs, Math.Max(slot.TotalMilliseconds, 0));
        var moved = 0;
        for (var i = 0; i < targets.Count; i++)
        {
            var due = slot * (i + Random.Shared.NextDouble());
            var wait = due - time.GetElapsedTime(start);
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait, time, cancellationToken);
            }

            if (TryMove(targets[i], reason, Random.Shared.Next(0, maxDelay + 1)))
            {
                moved++;
            }
        }

        return moved;
    }

    /// <summary>Tells one client to reconnect elsewhere and closes it with 1001 once the frame is written.</summary>
    public static bool TryMove(ClientConnection connection, string reason, int afterMs)
    {
        if (connection.IsClosing)
        {
            return false;
        }

        connection.Send(connection.ReconnectFrame(reason, afterMs));
        connection.RequestClose(CloseCodes.GoingAway, reason, discardPending: false);
        return true;
    }
}
