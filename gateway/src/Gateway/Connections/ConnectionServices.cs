using Microsoft.Extensions.Options;
using PubSubGateway.Configuration;
using PubSubGateway.Messaging;
using PubSubGateway.Observability;
using PubSubGateway.Subscriptions;

namespace PubSubGateway.Connections;

/// <summary>The node-wide services every connection uses, resolved once instead of per connection.</summary>
internal sealed class ConnectionServices(
    IOptions<GatewayOptions> options,
    NodeIdentity node,
    GatewayMetrics metrics,
    TopicRegistry topics,
    IMessageBus bus,
    ConnectionManager manager,
    Security.TokenValidator auth,
    ILogger<ClientConnection> logger)
{
    public GatewayOptions Options { get; } = options.Value;

    public NodeIdentity Node { get; } = node;

    public GatewayMetrics Metrics { get; } = metrics;

    public TopicRegistry Topics { get; } = topics;

    public IMessageBus Bus { get; } = bus;

    public ConnectionManager Manager { get; } = manager;

    public Security.TokenValidator Auth { get; } = auth;

    public ILogger<ClientConnection> Logger { get; } = logger;
}
