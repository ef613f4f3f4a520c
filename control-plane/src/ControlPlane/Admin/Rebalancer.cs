using Microsoft.Extensions.Options;
using PubSubGateway.Cluster;
using PubSubGateway.ControlPlane.Configuration;
using PubSubGateway.ControlPlane.Observability;
using PubSubGateway.ControlPlane.Registry;

namespace PubSubGateway.ControlPlane.Admin;

/// <summary>Plans a rebalance from the registry and asks each over-loaded node to shed, paced.</summary>
internal sealed class Rebalancer(NodeRegistry registry, NodeCommander commander, ControlPlaneMetrics metrics, IOptions<ControlPlaneOptions> options)
{
    public async Task<RebalanceResult> RunAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value.Rebalance;
        var plan = RebalancePlanner.Plan(registry.Current.Nodes.Values, settings.TolerancePercent);
        var moves = new List<ShedPlan>();
        foreach (var (node, shed) in plan.Moves)
        {
            var reply = await commander.SendAsync(node, new NodeCommand("shed", Count: shed, WindowMs: settings.ShedWindowMs), cancellationToken);
            moves.Add(new ShedPlan(node.Id, node.Heartbeat.Connections, shed, reply is { Ok: true }));
            if (reply is { Ok: true })
            {
                metrics.ShedRequested.Inc(shed);
            }
        }

        metrics.Rebalances.Inc();
        return new RebalanceResult(plan.Mean, plan.Tolerance, settings.ShedWindowMs, moves);
    }
}
