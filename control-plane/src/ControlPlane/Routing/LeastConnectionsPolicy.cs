using PubSubGateway.ControlPlane.Registry;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace PubSubGateway.ControlPlane.Routing;

/// <summary>
/// Picks the active node with the fewest connections: the count from its last heartbeat plus the
/// upgrades this router sent it since. Ties are broken at random so replicas do not all pick the
/// same node.
/// </summary>
internal sealed class LeastConnectionsPolicy(NodeRegistry registry, RoutingLoad load) : ILoadBalancingPolicy
{
    public const string PolicyName = "LeastReportedConnections";

    public string Name => PolicyName;

    public DestinationState? PickDestination(HttpContext context, ClusterState cluster, IReadOnlyList<DestinationState> availableDestinations)
    {
        var nodes = registry.Current.Nodes;
        DestinationState? best = null;
        var bestScore = long.MaxValue;
        var ties = 0;
        foreach (var destination in availableDestinations)
        {
            if (!nodes.TryGetValue(destination.DestinationId, out var node) || !node.IsActive)
            {
                continue;
            }

            long score = node.Heartbeat.Connections + load.SentSinceHeartbeat(node.Id);
            if (score < bestScore)
            {
                (best, bestScore, ties) = (destination, score, 1);
            }
            else if (score == bestScore && Random.Shared.Next(++ties) == 0)
            {
                best = destination;
            }
        }

        if (best is not null && context.WebSockets.IsWebSocketRequest)
        {
            load.Sent(best.DestinationId);
        }

        return best;
    }
}
