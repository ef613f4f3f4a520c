using System.Net;
using System.Text;
using NATS.Client.Core;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.Tests.Functional;

[Collection(NatsCollection.Name)]
public sealed class ClusterTests(NatsFixture nats)
{
    [Fact]
    public async Task Client_on_node_A_gets_every_message_published_via_NATS_and_HTTP_on_node_B_exactly_once_in_order()
    {
        await using var nodeA = await GatewayNode.StartAsync(nats.Server.Url);
        await using var nodeB = await GatewayNode.StartAsync(nats.Server.Url);
        await using var client = await nodeA.ConnectAsync();
        const string topic = "chat.room1";
        await client.SubscribeAsync(topic);
        await using var backend = new NatsConnection(new NatsOpts { Url = nats.Server.Url });

        const int count = 1000;
        var run = Guid.NewGuid().ToString("N");
        for (var i = 1; i <= count; i++)
        {
            await backend.PublishAsync($"gw.topic.{topic}", Encoding.UTF8.GetBytes($"{{\"run\":\"{run}\",\"src\":\"nats\",\"n\":{i}}}"));
        }

        for (var i = 1; i <= count; i++)
        {
            var response = await nodeB.PublishAsync(topic, $"{{\"run\":\"{run}\",\"src\":\"http\",\"n\":{i}}}");
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        }

        var next = new Dictionary<string, int> { ["nats"] = 1, ["http"] = 1 };
        for (var received = 0; received < 2 * count;)
        {
            var data = (await client.NextMessageAsync()).GetProperty("data");
            if (data.GetProperty("run").GetString() != run)
            {
                continue;
            }

            var source = data.GetProperty("src").GetString()!;
            Assert.Equal(next[source], data.GetProperty("n").GetInt32());
            next[source]++;
            received++;
        }

        Assert.True(await client.StaysQuietAsync(TimeSpan.FromMilliseconds(500)), "a message arrived twice");
    }

    [Fact]
    public async Task Two_hundred_local_subscribers_share_one_NATS_subscription()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url);
        var topic = NatsFixture.UniqueTopic("room");
        var subject = $"gw.topic.{topic}";
        var clients = new List<TestClient>();
        try
        {
            for (var i = 0; i < 200; i++)
            {
                clients.Add(await node.ConnectAsync());
            }

            await Task.WhenAll(clients.Select(c => c.SubscribeAsync(topic)));

            var subs = await nats.Server.SubscriptionsOfAsync(node.NatsConnectionName);
            Assert.Equal(1, subs.Count(s => s == subject));

            // Half unsubscribe, half disconnect: the NATS subscription goes away with the last one.
            await Task.WhenAll(clients.Take(100).Select(c => c.RequestAsync("unsub", topic)));
            Assert.Equal(1, (await nats.Server.SubscriptionsOfAsync(node.NatsConnectionName)).Count(s => s == subject));
            foreach (var client in clients.Skip(100))
            {
                await client.DisposeAsync();
            }

            await WaitFor.ConditionAsync(
                async () => !(await nats.Server.SubscriptionsOfAsync(node.NatsConnectionName)).Contains(subject),
                because: "the NATS subscription should be removed after the last local subscriber left");
            Assert.Equal(0, await node.MetricAsync("gateway_nats_subscriptions"));
            Assert.Equal(0, await node.MetricAsync("gateway_subscriptions"));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Concurrent_sub_unsub_and_disconnect_leave_no_stray_NATS_subscription()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url);
        var topic = NatsFixture.UniqueTopic("race");
        var subject = $"gw.topic.{topic}";

        await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            await using var client = await node.ConnectAsync();
            for (var round = 0; round < 5; round++)
            {
                await client.SubscribeAsync(topic);
                if ((i + round) % 2 == 0)
                {
                    await client.RequestAsync("unsub", topic);
                }
            }
        }));

        await WaitFor.ConditionAsync(async () => !(await nats.Server.SubscriptionsOfAsync(node.NatsConnectionName)).Contains(subject));
        await using var late = await node.ConnectAsync();
        await late.SubscribeAsync(topic);
        Assert.Equal(1, (await nats.Server.SubscriptionsOfAsync(node.NatsConnectionName)).Count(s => s == subject));
        await node.PublishAsync(topic, "7");
        Assert.Equal(7, (await late.NextMessageAsync()).GetProperty("data").GetInt32());
    }

    [Fact]
    public async Task Non_JSON_payload_from_NATS_is_counted_and_dropped()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url);
        await using var client = await node.ConnectAsync();
        var topic = NatsFixture.UniqueTopic();
        await client.SubscribeAsync(topic);
        await using var backend = new NatsConnection(new NatsOpts { Url = nats.Server.Url });

        await backend.PublishAsync($"gw.topic.{topic}", Encoding.UTF8.GetBytes("not json"));
        await backend.PublishAsync($"gw.topic.{topic}", Encoding.UTF8.GetBytes("{\"a\":1} trailing"));
        await backend.PublishAsync($"gw.topic.{topic}", Array.Empty<byte>());
        await backend.PublishAsync($"gw.topic.{topic}", Encoding.UTF8.GetBytes("{\"ok\":true}"));

        var msg = await client.NextMessageAsync();
        Assert.Equal("{\"ok\":true}", msg.GetProperty("data").GetRawText());
        Assert.Equal(3, await node.MetricAsync("gateway_messages_dropped_total", "reason=\"invalid_json\""));
    }
}
