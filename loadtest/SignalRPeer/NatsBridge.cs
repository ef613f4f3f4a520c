using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using NATS.Client.Core;

namespace PubSubGateway.SignalRPeer;

/// <summary>Forwards every message on <c>gw.topic.&gt;</c> to the SignalR group named after the topic.</summary>
internal sealed class NatsBridge(IHubContext<TopicHub> hub, IConfiguration configuration) : BackgroundService
{
    private const string Prefix = "gw.topic.";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using var nats = new NatsConnection(new NatsOpts { Url = configuration["Nats:Url"] ?? "nats://127.0.0.1:4222", Name = "signalr-peer" });
        await foreach (var msg in nats.SubscribeAsync<byte[]>(Prefix + ">", cancellationToken: stoppingToken))
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
