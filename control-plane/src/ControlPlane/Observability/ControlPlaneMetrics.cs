using Prometheus;
using PubSubGateway.ControlPlane.Registry;

namespace PubSubGateway.ControlPlane.Observability;

/// <summary>
/// Control-plane metrics in a registry of its own (several replicas can share a test process).
/// Node gauges are refreshed from the registry snapshot at scrape time.
/// </summary>
internal sealed class ControlPlaneMetrics
{
    private static readonly string[] States = [NodeEntry.Active, NodeEntry.Draining, NodeEntry.Drained];
    private readonly Gauge _nodes;
    private readonly Gauge _nodeConnections;
    private readonly Gauge _connections;
    private readonly Counter _routerRequests;
    private readonly NodeRegistry _registry;

    public ControlPlaneMetrics(NodeRegistry registry)
    {
        _registry = registry;
        Registry = Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(Registry);
        _nodes = factory.CreateGauge("controlplane_nodes", "Live gateway nodes in the registry, by state.", "state");
        _nodeConnections = factory.CreateGauge("controlplane_node_connections", "Client connections each node reported in its last heartbeat.", "node", "state");
        _connections = factory.CreateGauge("controlplane_connections", "Client connections over all live nodes.");
        Drains = factory.CreateCounter("controlplane_drains_total", "Drain commands accepted by a node.");
        Rebalances = factory.CreateCounter("controlplane_rebalances_total", "Rebalance requests handled.");
        ShedRequested = factory.CreateCounter("controlplane_rebalance_shed_connections_total", "Connections nodes were asked to shed by rebalances.");
        _routerRequests = factory.CreateCounter("controlplane_router_requests_total", "Requests the router sent, by destination node and kind (websocket or http).", "destination", "kind");
        Registry.AddBeforeCollectCallback(Refresh);
    }

    public CollectorRegistry Registry { get; }

    public Counter Drains { get; }

    public Counter Rebalances { get; }

    public Counter ShedRequested { get; }

    public void Routed(string destination, bool webSocket) => _routerRequests.WithLabels(destination, webSocket ? "websocket" : "http").Inc();

    private void Refresh()
    {
        var nodes = _registry.Current.Nodes.Values.ToList();
        foreach (var state in States)
        {
            _nodes.WithLabels(state).Set(nodes.Count(n => n.Heartbeat.State == state));
        }

        foreach (var labels in _nodeConnections.GetAllLabelValues().ToList())
        {
            if (!nodes.Any(n => n.Id == labels[0] && n.Heartbeat.State == labels[1]))
            {
                _nodeConnections.RemoveLabelled(labels);
            }
        }

        foreach (var node in nodes)
        {
            _nodeConnections.WithLabels(node.Id, node.Heartbeat.State).Set(node.Heartbeat.Connections);
        }

        _connections.Set(nodes.Sum(n => (double)n.Heartbeat.Connections));
    }
}
