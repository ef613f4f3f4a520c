using System.Text.Json;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using PubSubGateway.Cluster;
using PubSubGateway.ControlPlane.Configuration;
using PubSubGateway.ControlPlane.Registry;

namespace PubSubGateway.ControlPlane.Admin;

/// <summary>Sends a command to one node over NATS request/reply; null when the node did not answer in time.</summary>
internal sealed class NodeCommander(NatsConnection nats, IOptions<ControlPlaneOptions> options)
{
    public async Task<NodeCommandReply?> SendAsync(NodeEntry node, NodeCommand command, CancellationToken cancellationToken)
    {
        var payload = JsonSerializer.SerializeToUtf8Bytes(command, AdminJsonContext.Default.NodeCommand);
        try
        {
            var reply = await nats.RequestAsync<byte[], byte[]>(
                node.Heartbeat.ControlSubject,
                payload,
                replyOpts: new NatsSubOpts { Timeout = TimeSpan.FromMilliseconds(options.Value.CommandTimeoutMs) },
                cancellationToken: cancellationToken);
            return reply.Data is { Length: > 0 } data ? JsonSerializer.Deserialize(data, AdminJsonContext.Default.NodeCommandReply) : null;
        }
        catch (Exception ex) when (ex is NatsException or TimeoutException or JsonException)
        {
            return null;
        }
    }
}
