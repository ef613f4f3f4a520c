using System.Net;
using System.Text.Json;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.Tests.Functional;

[Collection(NatsCollection.Name)]
public sealed class ProtocolTests(NatsFixture nats)
{
    [Theory]
    [MemberData(nameof(Buses.All), MemberType = typeof(Buses))]
    public async Task Hello_names_the_node_and_heartbeat(string bus)
    {
        await using var node = await Buses.StartNodeAsync(bus, nats, "--Gateway:Heartbeat:IntervalMs", "5000");
        await using var client = await node.ConnectAsync();

        Assert.Equal("hello", client.Hello.GetProperty("op").GetString());
        Assert.Equal(node.NodeId, client.Hello.GetProperty("node").GetString());
        Assert.Equal(5000, client.Hello.GetProperty("heartbeat_ms").GetInt32());
        Assert.Equal("pubsub.v1.json", client.Socket.SubProtocol);
    }

    [Theory]
    [MemberData(nameof(Buses.All), MemberType = typeof(Buses))]
    public async Task Pub_reaches_subscribers_with_data_bytes_unchanged(string bus)
    {
        await using var node = await Buses.StartNodeAsync(bus, nats);
        await using var subscriber = await node.ConnectAsync();
        await using var publisher = await node.ConnectAsync();
        var topic = NatsFixture.UniqueTopic("chat");
        await subscriber.SubscribeAsync(topic);

        const string data = """{"text":"héllo \"quoted\"","n":[1,2.5,{"deep":null}],"ok":true}""";
        var ack = await publisher.RequestAsync("pub", topic, data);
        Assert.Equal("ack", ack.GetProperty("op").GetString());

        var msg = await subscriber.NextMessageAsync();
        Assert.Equal(topic, msg.GetProperty("topic").GetString());
        Assert.Equal(data, msg.GetProperty("data").GetRawText());
        Assert.False(msg.TryGetProperty("seq", out _));
    }

    [Theory]
    [MemberData(nameof(Buses.All), MemberType = typeof(Buses))]
    public async Task Ping_gets_pong_with_its_id(string bus)
    {
        await using var node = await Buses.StartNodeAsync(bus, nats);
        await using var client = await node.ConnectAsync();

        var reply = await client.RequestAsync("ping");

        Assert.Equal("pong", reply.GetProperty("op").GetString());
    }

    [Theory]
    [MemberData(nameof(Buses.All), MemberType = typeof(Buses))]
    public async Task Unsub_stops_delivery(string bus)
    {
        await using var node = await Buses.StartNodeAsync(bus, nats);
        await using var client = await node.ConnectAsync();
        var topic = NatsFixture.UniqueTopic();
        await client.SubscribeAsync(topic);
        Assert.Equal(HttpStatusCode.Accepted, (await node.PublishAsync(topic, "1")).StatusCode);
        Assert.Equal("1", (await client.NextMessageAsync()).GetProperty("data").GetRawText());

        var ack = await client.RequestAsync("unsub", topic);
        Assert.Equal("ack", ack.GetProperty("op").GetString());
        await node.PublishAsync(topic, "2");

        Assert.True(await client.StaysQuietAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Theory]
    [MemberData(nameof(Buses.All), MemberType = typeof(Buses))]
    public async Task Wildcards_receive_the_right_messages_and_nothing_else(string bus)
    {
        await using var node = await Buses.StartNodeAsync(bus, nats);
        var root = "w" + Guid.NewGuid().ToString("N")[..8];
        await using var star = await node.ConnectAsync();
        await using var tail = await node.ConnectAsync();
        await star.SubscribeAsync($"{root}.*");
        await tail.SubscribeAsync($"{root}.>");

        string[] topics = [$"{root}", $"{root}.a", $"{root}.b", $"{root}.a.b", $"{root}.a.b.c", $"other.{root}.a", $"{root}x.a"];
        for (var i = 0; i < topics.Length; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await node.PublishAsync(topics[i], i.ToString())).StatusCode);
        }

        await node.PublishAsync($"{root}.end", "\"end\"");
        Assert.Equal([$"{root}.a", $"{root}.b"], await TopicsUntilEnd(star, $"{root}.end"));
        Assert.Equal([$"{root}.a", $"{root}.b", $"{root}.a.b", $"{root}.a.b.c"], await TopicsUntilEnd(tail, $"{root}.end"));
    }

    [Theory]
    [MemberData(nameof(Buses.All), MemberType = typeof(Buses))]
    public async Task Duplicate_sub_is_acked_once_and_delivers_once(string bus)
    {
        await using var node = await Buses.StartNodeAsync(bus, nats);
        await using var client = await node.ConnectAsync();
        var topic = NatsFixture.UniqueTopic();
        await client.SubscribeAsync(topic);
        await client.SubscribeAsync(topic);

        await node.PublishAsync(topic, "1");
        await client.NextMessageAsync();

        Assert.True(await client.StaysQuietAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Theory]
    [MemberData(nameof(Buses.All), MemberType = typeof(Buses))]
    public async Task Health_and_metrics_endpoints_answer(string bus)
    {
        await using var node = await Buses.StartNodeAsync(bus, nats);
        Assert.Equal(HttpStatusCode.OK, (await node.Http.GetAsync("/healthz/live")).StatusCode);
        var ready = await node.Http.GetAsync("/healthz/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(bus, body.GetProperty("bus").GetString());

        await using var client = await node.ConnectAsync();
        var topic = NatsFixture.UniqueTopic();
        await client.SubscribeAsync(topic);
        await node.PublishAsync(topic, "{}");
        await client.NextMessageAsync();

        Assert.Equal(1, await node.MetricAsync("gateway_connections"));
        Assert.Equal(1, await node.MetricAsync("gateway_nats_subscriptions"));
        Assert.Equal(1, await node.MetricAsync("gateway_messages_received_total", "source=\"http\""));
        Assert.Equal(1, await node.MetricAsync("gateway_messages_received_total", "source=\"bus\""));
        await WaitFor.ConditionAsync(async () => await node.MetricAsync("gateway_messages_delivered_total") == 1);
        Assert.Equal(1, await node.MetricAsync("gateway_delivery_latency_seconds_count"));

        // The node runs in this test process: a forced collection must show in the GC metrics.
        var before = await node.MetricAsync("gateway_process_gc_collections", "generation=\"2\"");
        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        Assert.True(await node.MetricAsync("gateway_process_gc_collections", "generation=\"2\"") >= before + 1);
        Assert.True(await node.MetricAsync("gateway_process_gc_pause_seconds") > 0);
        GC.Collect(0, GCCollectionMode.Forced, blocking: true);
        Assert.True(await node.MetricAsync("gateway_process_gc_last_ephemeral_pause_seconds") > 0);
        Assert.True(await node.MetricAsync("gateway_process_gc_last_ephemeral_promoted_bytes") >= 0);

        // Compiling a method this process has never run shows in the JIT metrics.
        var compiled = await node.MetricAsync("gateway_process_jit_compiled_methods");
        var method = new System.Reflection.Emit.DynamicMethod("Fresh", typeof(int), Type.EmptyTypes);
        var il = method.GetILGenerator();
        il.Emit(System.Reflection.Emit.OpCodes.Ldc_I4, 42);
        il.Emit(System.Reflection.Emit.OpCodes.Ret);
        Assert.Equal(42, ((Func<int>)method.CreateDelegate(typeof(Func<int>)))());
        Assert.True(await node.MetricAsync("gateway_process_jit_compiled_methods") > compiled);
        Assert.True(await node.MetricAsync("gateway_process_jit_seconds") > 0);
    }

    private static async Task<List<string>> TopicsUntilEnd(TestClient client, string end)
    {
        var seen = new List<string>();
        while (true)
        {
            var topic = (await client.NextMessageAsync()).GetProperty("topic").GetString()!;
            if (topic == end)
            {
                return seen;
            }

            seen.Add(topic);
        }
    }
}
