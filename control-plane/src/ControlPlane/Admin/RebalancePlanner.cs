using PubSubGateway.ControlPlane.Registry;

namespace PubSubGateway.ControlPlane.Admin;

/// <summary>
/// Which active nodes shed how many clients: every node above the mean by more than the tolerance
/// sheds down to the mean. Shed clients reconnect through the router, which sends them to the
/// lightest nodes.
/// </summary>
internal static class RebalancePlanner
{
    public static (double Mean, double Tolerance, IReadOnlyList<(NodeEntry Node, int Shed)> Moves) Plan(IEnumerable<NodeEntry> nodes, int tolerancePercent)
    {
        var active = nodes.Where(n => n.IsActive).ToList();
        if (active.Count < 2)
        {
            return (active.Sum(n => n.Heartbeat.Connections), 0, []);
        }

        var mean = active.Average(n => (double)n.Heartbeat.Connections);
        var tolerance = Math.Max(1, mean * tolerancePercent / 100.0);
        var moves = active
            .Where(n => n.Heartbeat.Connections > mean + tolerance)
            .Select(n => (n, (int)Math.Round(n.Heartbeat.Connections - mean)))
            .Where(m => m.Item2 > 0)
            .ToList();
        return (mean, tolerance, moves);
    }
}
