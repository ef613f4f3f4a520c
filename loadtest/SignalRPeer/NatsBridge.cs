using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using NATS.Client.Core;

namespace PubSubGateway.SignalRPeer;

/// <summary>
/// Forwards every message on <c>gw.topic.signalr.&gt;</c> (<c>Nats:Subject</c>) to the SignalR
/// group named after the topic. Only the load tool's SignalR runs publish there (its default
/// topic prefix for <c>--target signalr</c>): the peer shares nats-server with the gateway, and when it
/// bridged all of <c>gw.topic.&gt;</c> it parsed and sent every message of the gateway's runs
/// through Redis too, on the same 2 cores, while the gateway was being measured.
/// </summary>
internal sealed class NatsBridge(IHubContext<TopicHub> hub, IConfiguration configuration) : BackgroundService
{
    private const string Prefix = "gw.topic.";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using var nats = new NatsConnection(new NatsOpts { Url = configuration["Nats:Url"] ?? "nats://127.0.0.1:4222", Name = "signalr-peer" });
        await foreach (var msg in nats.SubscribeAsync<byte[]>(configuration["Nats:Subject"] ?? Prefix + "signalr.>", cancellationToken: stoppingToken))
        {
            if (msg.Data is null)
            {
                continue;
            }

            using var payload = JsonDocument.Parse(msg.Data);
            await hub.Clients.Group(msg.Subject[Prefix.Length..]).SendAsync("msg", payload.RootElement, stoppingToken);
        }
    }
}
