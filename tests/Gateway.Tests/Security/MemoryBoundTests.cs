using System.Net.WebSockets;
using System.Text;
using NATS.Client.Core;
using PubSubGateway.Connections;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.Tests.Security;

/// <summary>
/// Memory stays bounded by configuration, not by the goodwill of clients: asserted on the node's
/// own queue counters while 1,000 connections never read, and while a client floods publishes.
/// </summary>
[Collection(NatsCollection.Name)]
public sealed class MemoryBoundTests(NatsFixture nats)
{
    private const int QueueCap = 64 * 1024;

    [Fact]
    public async Task A_thousand_connections_that_never_read_stay_within_their_queue_caps()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url,
            "--Gateway:Outbound:MaxQueueBytes", QueueCap.ToString(), "--Gateway:Limits:MaxPayloadBytes", "8192", "--Gateway:Outbound:CloseTimeoutMs", "2000", "--Gateway:Limits:MaxConnectionsPerIp", "5000");
        var topic = NatsFixture.UniqueTopic("stall");
        await using var reader = await node.ConnectAsync();
        await reader.SubscribeAsync(topic);
        var stalled = new List<RawWebSocket>();
        try
        {
            for (var i = 0; i < 1000; i++)
            {
                var raw = await RawWebSocket.ConnectAsync(node.WebSocketUri, receiveBuffer: 4096);
                Assert.Equal(101, raw.Status);
                await raw.SendTextAsync($"{{\"op\":\"sub\",\"topic\":\"{topic}\"}}");
                stalled.Add(raw);
            }

            await WaitFor.ConditionAsync(async () => await node.MetricAsync("gateway_subscriptions") == 1001, TimeSpan.FromSeconds(30));
            var manager = node.Get<ConnectionManager>();

            // Summing the queues (every scrape) and the deadline sweep (every second) walk the
            // connections without copying them: a snapshot of 1,001 would be an 8 KB array.
            manager.QueueBytes();
            var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            manager.QueueBytes();
            Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - allocatedBefore, 0, 1024);
            await using var backend = new NatsConnection(new NatsOpts { Url = nats.Server.Url });
            var pad = new string('x', 2000);
            long maxQueued = 0;
            for (var n = 1; n <= 1500; n++)
            {
                await backend.PublishAsync($"gw.topic.{topic}", Encoding.UTF8.GetBytes($"{{\"n\":{n},\"pad\":\"{pad}\"}}"));
                if (n % 25 == 0)
                {
                    // The reader keeps up; everyone else never reads.
                    for (var expected = n - 24; expected <= n; expected++)
                    {
                        Assert.Equal(expected, (await reader.NextMessageAsync()).GetProperty("data").GetProperty("n").GetInt32());
                    }

                    maxQueued = Math.Max(maxQueued, manager.QueueBytes().Queued);
                }
            }

            // No connection ever held more than its cap, and the node as a whole never more than the caps together.
            Assert.InRange(manager.QueueBytes().Peak, 1, QueueCap);
            Assert.InRange(maxQueued, 0, 1001L * QueueCap);
            await WaitFor.ConditionAsync(async () => await node.MetricAsync("gateway_messages_dropped_total", "reason=\"slow_consumer\"") == 1000,
                TimeSpan.FromSeconds(30), "every stalled connection is cut off as a slow consumer");
            await WaitFor.ConditionAsync(async () => await node.MetricAsync("gateway_connections") == 1, TimeSpan.FromSeconds(30),
                "stalled connections are gone (closed, or aborted after the close timeout)");
            Assert.True(manager.QueueBytes().Queued < QueueCap, "nothing is left queued for the connections that went away");
        }
        finally
        {
            foreach (var raw in stalled)
            {
                await raw.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_publish_flood_from_a_client_that_never_reads_is_cut_off_and_stays_bounded()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url,
            "--Gateway:Outbound:MaxQueueBytes", QueueCap.ToString(), "--Gateway:Limits:MaxPayloadBytes", "8192",
            "--Gateway:Limits:PublishRatePerSecond", "50", "--Gateway:Limits:PublishBurst", "50", "--Gateway:Limits:MaxRateLimitStrikes", "1000");
        var topic = NatsFixture.UniqueTopic("flood");
        await using var bystander = await node.ConnectAsync();
        await bystander.SubscribeAsync(topic);
        await using var flooder = await RawWebSocket.ConnectAsync(node.WebSocketUri, receiveBuffer: 4096);

        var frame = Encoding.UTF8.GetBytes($"{{\"op\":\"pub\",\"id\":\"{new string('i', 100)}\",\"topic\":\"{topic}.x\",\"data\":1}}");
        var sent = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            while (!stop.IsCancellationRequested && sent < 50_000)
            {
                await flooder.SendFrameAsync(0x1, frame);
                sent++;
            }
        }
        catch (IOException)
        {
            // The node cut the flooder off.
        }

        var manager = node.Get<ConnectionManager>();
        Assert.InRange(manager.QueueBytes().Peak, 1, QueueCap);
        Assert.InRange(await node.MetricAsync("gateway_messages_received_total", "source=\"ws\""), 1, 50 + (50 * 25));
        await WaitFor.ConditionAsync(async () => await node.MetricAsync("gateway_connections") == 1, TimeSpan.FromSeconds(30), "the flooder is disconnected");
        Assert.True(await node.MetricAsync("gateway_connections_closed_total", "code=\"4008\"") + await node.MetricAsync("gateway_connections_closed_total", "code=\"4029\"") >= 1);

        await node.PublishAsync(topic, "\"still here\"");
        Assert.Equal("still here", (await bystander.NextMessageAsync()).GetProperty("data").GetString());
        Assert.Equal(WebSocketState.Open, bystander.Socket.State);
    }
}
