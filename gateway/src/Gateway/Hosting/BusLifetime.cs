using PubSubGateway.Configuration;
using PubSubGateway.Messaging;
using PubSubGateway.Observability;

namespace PubSubGateway.Hosting;

/// <summary>Connects the bus when the host starts and logs which bus the node runs on.</summary>
internal sealed partial class BusLifetime(IMessageBus bus, NodeIdentity node, GatewayMetrics metrics, ILogger<BusLifetime> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await bus.StartAsync(cancellationToken);
        metrics.NatsConnected.Set(bus.IsConnected ? 1 : 0);
        if (bus is InProcessBus)
        {
            Log.SingleNode(logger, node.Id);
        }
        else
        {
            Log.Clustered(logger, node.Id, bus.IsConnected);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(10, LogLevel.Warning, "Node {NodeId}: no Nats:Url configured, running single-node on the in-process bus", EventName = "SingleNode")]
        public static partial void SingleNode(ILogger logger, string nodeId);

        [LoggerMessage(11, LogLevel.Information, "Node {NodeId}: using NATS (connected: {Connected})", EventName = "Clustered")]
        public static partial void Clustered(ILogger logger, string nodeId, bool connected);
    }
}
