using System.Net.WebSockets;
using System.Text;
using NATS.Client.Core;
using PubSubGateway.Connections;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.Tests.Functional;

[Collection(NatsCollection.Name)]
public sealed class SlowConsumerTests(NatsFixture nats)
{
    private const int QueueCap = 256 * 1024;
    private const int PayloadBytes = 4000;

    [Fact]
    public async Task Client_that_stops_reading_is_closed_with_4008_while_others_get_everything()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url,
            "--Gateway:Outbound:MaxQueueBytes", QueueCap.ToString(), "--Gateway:Outbound:CloseTimeoutMs", "60000");
        var topic = NatsFixture.UniqueTopic("flood");
        var (reader, stalled) = await SubscribeReaderAndStalledClientAsync(node, topic);
        await using var readerScope = reader;
        await using var stalledScope = stalled;

        var sent = await PublishUntilAsync(node, reader, topic, async () => await node.MetricAsync("gateway_messages_dropped_total", "reason=\"slow_consumer\"") >= 1);

        // Every message reached the client that reads, in order, and the node never queued more than the cap.
        Assert.True(sent > 0);
        var (_, peak) = node.Get<ConnectionManager>().QueueBytes();
        Assert.InRange(peak, 1, QueueCap);
        Assert.InRange(await node.MetricAsync("gateway_outbound_queue_peak_bytes"), 1, QueueCap);

        // When the stalled client reads again it finds the close frame 4008 after what was already in flight.
        stalled.ResumeReading();
        await stalled.Closed.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((WebSocketCloseStatus)4008, stalled.CloseStatus);
        await WaitFor.ConditionAsync(async () => await node.MetricAsync("gateway_connections_closed_total", "code=\"4008\"") == 1);
        Assert.Equal(1, await node.MetricAsync("gateway_connections"));
    }

    [Fact]
    public async Task Drop_oldest_policy_keeps_the_client_and_counts_drops()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url,
            "--Gateway:Outbound:MaxQueueBytes", QueueCap.ToString(), "--Gateway:Outbound:SlowConsumerPolicy", "DropOldest");
        var topic = NatsFixture.UniqueTopic("flood");
        var (reader, stalled) = await SubscribeReaderAndStalledClientAsync(node, topic);
        await using var readerScope = reader;
        await using var stalledScope = stalled;

        var sent = await PublishUntilAsync(node, reader, topic, async () => await node.MetricAsync("gateway_messages_dropped_total", "reason=\"queue_full\"") >= 50);

        Assert.InRange(node.Get<ConnectionManager>().QueueBytes().Peak, 1, QueueCap);
        stalled.ResumeReading();
        await stalled.NextAsync(f => f.GetProperty("op").GetString() == "ack");
        var last = 0;
        while (last != sent)
        {
            var n = (await stalled.NextMessageAsync()).GetProperty("data").GetProperty("n").GetInt32();
            Assert.True(n > last, "messages must stay in order even when old ones are dropped");
            last = n;
        }

        Assert.Equal(WebSocketState.Open, stalled.Socket.State);
    }

    [Theory]
    [InlineData("8", "true")]
    [InlineData("0", "true")]
    [InlineData("8", "false")]
    public async Task A_client_that_pauses_under_the_cap_gets_every_message_in_order_with_or_without_direct_writes(string directWriteMaxSubscribers, string writeToSocket)
    {
        // Direct writes (idle socket, written on the producer's thread) give way to the writer loop
        // once the paused client's socket backs up; the queued frames must follow the direct ones.
        // Back-pressure comes from the socket itself or, with WriteToSocket off, from Kestrel's pipe.
        await using var node = await GatewayNode.StartAsync(nats.Server.Url,
            "--Gateway:Outbound:MaxQueueBytes", (4 * 1024 * 1024).ToString(), "--Gateway:Outbound:DirectWriteMaxSubscribers", directWriteMaxSubscribers,
            "--Gateway:Outbound:WriteToSocket", writeToSocket);
        var topic = NatsFixture.UniqueTopic("pause");
        var (reader, paused) = await SubscribeReaderAndStalledClientAsync(node, topic);
        await using var readerScope = reader;
        await using var pausedScope = paused;
        Assert.All(node.Get<ConnectionManager>().Connections, c => Assert.Equal(writeToSocket == "true", c.WritesToSocket));

        var sent = await PublishUntilAsync(node, reader, topic, async () => await node.MetricAsync("gateway_outbound_queue_bytes") > 64 * 1024);
        paused.ResumeReading();
        await paused.NextAsync(f => f.GetProperty("op").GetString() == "ack");
        for (var expected = 1; expected <= sent; expected++)
        {
            Assert.Equal(expected, (await paused.NextMessageAsync()).GetProperty("data").GetProperty("n").GetInt32());
        }

        Assert.Equal(0, await node.MetricAsync("gateway_messages_dropped_total", "reason=\"slow_consumer\""));
        Assert.Equal(WebSocketState.Open, paused.Socket.State);
    }

    /// <summary>A client that reads everything and one that stopped reading (small socket buffer), both on <paramref name="topic"/>.</summary>
    private static async Task<(TestClient Reader, TestClient Stalled)> SubscribeReaderAndStalledClientAsync(GatewayNode node, string topic)
    {
        var reader = await node.ConnectAsync();
        await reader.SubscribeAsync(topic);
        var stalled = await TestClient.ConnectAsync(node.WebSocketUri, paused: true, socketReceiveBuffer: 8 * 1024);
        await stalled.SendRawAsync($"{{\"op\":\"sub\",\"id\":\"s\",\"topic\":\"{topic}\"}}");
        await WaitFor.ConditionAsync(async () => await node.MetricAsync("gateway_subscriptions") == 2);
        return (reader, stalled);
    }

    /// <summary>
    /// Publishes 4 KB messages numbered 1..n through NATS in batches, each batch read in full by
    /// <paramref name="reader"/>, until <paramref name="done"/> holds; returns n.
    /// </summary>
    private async Task<int> PublishUntilAsync(GatewayNode node, TestClient reader, string topic, Func<Task<bool>> done)
    {
        await using var backend = new NatsConnection(new NatsOpts { Url = nats.Server.Url });
        var filler = new string('x', PayloadBytes);
        var n = 0;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!await done())
        {
            Assert.True(DateTime.UtcNow < deadline, "the slow consumer was never detected");
            for (var i = 0; i < 50; i++)
            {
                n++;
                await backend.PublishAsync($"gw.topic.{topic}", Encoding.UTF8.GetBytes($"{{\"n\":{n},\"pad\":\"{filler}\"}}"));
            }

            for (var expected = n - 49; expected <= n; expected++)
            {
                Assert.Equal(expected, (await reader.NextMessageAsync()).GetProperty("data").GetProperty("n").GetInt32());
            }
        }

        return n;
    }
}
