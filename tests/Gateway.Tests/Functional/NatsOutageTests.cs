using System.Net;
using System.Net.WebSockets;
using System.Text;
using NATS.Client.Core;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.Tests.Functional;

public sealed class NatsOutageTests
{
    [Fact]
    public async Task Clients_survive_a_NATS_restart_and_readiness_reflects_the_outage()
    {
        await using var server = await NatsServer.StartAsync();
        await using var node = await GatewayNode.StartAsync(server.Url);
        await using var client = await node.ConnectAsync();
        await using var wildcard = await node.ConnectAsync();
        await client.SubscribeAsync("news.today");
        await wildcard.SubscribeAsync("news.*");
        Assert.Equal(HttpStatusCode.OK, (await node.Http.GetAsync("/healthz/ready")).StatusCode);

        await server.KillAsync();
        await WaitFor.ConditionAsync(async () => (await node.Http.GetAsync("/healthz/ready")).StatusCode == HttpStatusCode.ServiceUnavailable,
            because: "readiness should fail while NATS is down");
        Assert.Equal(HttpStatusCode.OK, (await node.Http.GetAsync("/healthz/live")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await node.PublishAsync("news.today", "0")).StatusCode);

        await server.StartProcessAsync();
        await WaitFor.ConditionAsync(async () => (await node.Http.GetAsync("/healthz/ready")).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(30), "readiness should recover once NATS is back");

        // The node re-sent its SUBs on reconnect: a backend publishing straight to NATS reaches both clients.
        await using var backend = new NatsConnection(new NatsOpts { Url = server.Url });
        await WaitFor.ConditionAsync(async () => (await server.SubscriptionsOfAsync(node.NatsConnectionName)).Count >= 2);
        await backend.PublishAsync("gw.topic.news.today", Encoding.UTF8.GetBytes("{\"after\":\"restart\"}"));

        Assert.Equal("restart", (await client.NextMessageAsync()).GetProperty("data").GetProperty("after").GetString());
        Assert.Equal("restart", (await wildcard.NextMessageAsync()).GetProperty("data").GetProperty("after").GetString());
        Assert.Equal(WebSocketState.Open, client.Socket.State);
        Assert.Equal(1, await node.MetricAsync("gateway_nats_connected"));
    }
}
