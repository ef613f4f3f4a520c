using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using PubSubGateway.ControlPlane.Configuration;
using PubSubGateway.ControlPlane.Registry;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

namespace PubSubGateway.ControlPlane.Routing;

/// <summary>
/// YARP configuration built from the registry: fixed routes to one cluster whose destinations are
/// the active nodes. Draining and drained nodes are left out, so they get no new connections the
/// moment the registry sees the state; proxied connections stay open. A new immutable config (and a
/// fired change token) is published only when the destination set changes, not on every heartbeat:
/// the load-balancing policy reads live counts from the registry itself.
/// </summary>
internal sealed class RegistryProxyConfigProvider : IProxyConfigProvider, IDisposable
{
    public const string ClusterId = "gateway-nodes";

    private static readonly IReadOnlyList<RouteConfig> Routes =
    [
        Route("websocket", "/ws/{**rest}"),
        Route("publish", "/api/v1/publish/{**rest}"),
        Route("sse", "/sse/{**rest}"),
    ];

    private readonly NodeRegistry _registry;
    private readonly TimeSpan _activityTimeout;
    private readonly Lock _lock = new();
    private readonly IDisposable _subscription;
    private CancellationTokenSource _changed = new();
    private Config _config;

    public RegistryProxyConfigProvider(NodeRegistry registry, IOptions<ControlPlaneOptions> options)
    {
        _registry = registry;
        _activityTimeout = TimeSpan.FromSeconds(options.Value.Router.ActivityTimeoutSeconds);
        _config = Build(registry.Current, new CancellationChangeToken(_changed.Token));
        _subscription = ChangeToken.OnChange(() => _registry.Current.ChangeToken, Refresh);
    }

    public IProxyConfig GetConfig() => Volatile.Read(ref _config);

    public void Dispose()
    {
        _subscription.Dispose();
        _changed.Dispose();
    }

    private void Refresh()
    {
        CancellationTokenSource previous;
        lock (_lock)
        {
            var snapshot = _registry.Current;
            if (SameDestinations(_config.Clusters[0].Destinations!, snapshot))
            {
                return;
            }

            previous = _changed;
            _changed = new CancellationTokenSource();
            Volatile.Write(ref _config, Build(snapshot, new CancellationChangeToken(_changed.Token)));
        }

        previous.Cancel();
        previous.Dispose();
    }

    private static bool SameDestinations(IReadOnlyDictionary<string, DestinationConfig> current, RegistrySnapshot snapshot)
    {
        var active = snapshot.Nodes.Values.Where(n => n.IsActive).ToList();
        return active.Count == current.Count &&
            active.All(n => current.TryGetValue(n.Id, out var d) && d.Address == n.Heartbeat.Url);
    }

    private Config Build(RegistrySnapshot snapshot, IChangeToken changeToken)
    {
        var destinations = snapshot.Nodes.Values
            .Where(n => n.IsActive)
            .ToDictionary(n => n.Id, n => new DestinationConfig { Address = n.Heartbeat.Url! }, StringComparer.Ordinal);
        var cluster = new ClusterConfig
        {
            ClusterId = ClusterId,
            LoadBalancingPolicy = LeastConnectionsPolicy.PolicyName,
            Destinations = destinations,
            HttpRequest = new ForwarderRequestConfig { ActivityTimeout = _activityTimeout },
        };
        return new Config(Routes, [cluster], changeToken);
    }

    private static RouteConfig Route(string id, string path) => new()
    {
        RouteId = id,
        ClusterId = ClusterId,
        Match = new RouteMatch { Path = path },
    };

    private sealed class Config(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters, IChangeToken changeToken) : IProxyConfig
    {
        public IReadOnlyList<RouteConfig> Routes { get; } = routes;

        public IReadOnlyList<ClusterConfig> Clusters { get; } = clusters;

        public IChangeToken ChangeToken { get; } = changeToken;
    }
}
