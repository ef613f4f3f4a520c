using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using NATS.Client.Core;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.Tests.Durable;

[Collection(NatsCollection.Name)]
public sealed class DurableTopicTests(NatsFixture nats)
{
    /// <summary>A node whose durable stream and pattern are unique to the test (streams may not overlap).</summary>
    private async Task<(GatewayNode Node, string Root)> StartDurableNodeAsync(params string[] settings)
    {
        var root = "d" + Guid.NewGuid().ToString("N")[..10];
        var node = await GatewayNode.StartAsync(nats.Server.Url,
            [
                "--Gateway:Durable:Patterns:0", root + ".>",
                "--Gateway:Durable:StreamName", "S" + root,
                .. settings,
            ]);
        return (node, root);
    }

    [Fact]
    public async Task Durable_messages_carry_the_stream_seq_from_every_publish_path()
    {
        var (node, root) = await StartDurableNodeAsync();
        await using var _ = node;
        var topic = root + ".orders";
        await using var subscriber = await node.ConnectAsync();
        await subscriber.SubscribeAsync(topic);
        await using var publisher = await node.ConnectAsync();
        await using var backend = new NatsConnection(new NatsOpts { Url = nats.Server.Url });

        var wsAck = await publisher.RequestAsync("pub", topic, "{\"via\":\"ws\"}");
        var http = await (await node.PublishAsync(topic, "{\"via\":\"http\"}")).Content.ReadFromJsonAsync<JsonElement>();
        await backend.PublishAsync($"gw.topic.{topic}", Encoding.UTF8.GetBytes("{\"via\":\"nats\"}"));

        var seqs = new List<ulong>();
        foreach (var via in new[] { "ws", "http", "nats" })
        {
            var msg = await subscriber.NextMessageAsync();
            Assert.Equal(via, msg.GetProperty("data").GetProperty("via").GetString());
            seqs.Add(msg.GetProperty("seq").GetUInt64());
        }

        Assert.Equal(wsAck.GetProperty("seq").GetUInt64(), seqs[0]);
        Assert.Equal(http.GetProperty("seq").GetUInt64(), seqs[1]);
        Assert.True(seqs[0] < seqs[1] && seqs[1] < seqs[2]);
    }

    [Fact]
    public async Task Resume_after_ten_seconds_offline_delivers_every_missed_message_once_in_order()
    {
        var (node, root) = await StartDurableNodeAsync();
        await using var _ = node;
        var topic = root + ".feed";
        await using var backend = new NatsConnection(new NatsOpts { Url = nats.Server.Url });
        var n = 0;
        async Task PublishAsync() => await backend.PublishAsync($"gw.topic.{topic}", Encoding.UTF8.GetBytes($"{{\"n\":{++n}}}"));

        ulong lastSeq;
        await using (var first = await node.ConnectAsync())
        {
            await first.SubscribeAsync(topic);
            for (var i = 0; i < 5; i++)
            {
                await PublishAsync();
            }

            for (var i = 1; i <= 5; i++)
            {
                var msg = await first.NextMessageAsync();
                Assert.Equal(i, msg.GetProperty("data").GetProperty("n").GetInt32());
                lastSeq = msg.GetProperty("seq").GetUInt64();
            }

            lastSeq = 0;
        }

        // Offline for 10 s while the backend keeps publishing.
        var offlineUntil = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < offlineUntil)
        {
            await PublishAsync();
            await Task.Delay(100);
        }

        var resumeFrom = await SeqOfMessageAsync(node, topic, 5);
        await using var resumed = await node.ConnectAsync();
        var ack = await resumed.RequestAsync("sub", topic, extra: $"\"since\":{resumeFrom}");
        Assert.Equal("ack", ack.GetProperty("op").GetString());
        var stopLive = n + 20;
        var publishing = Task.Run(async () =>
        {
            while (n < stopLive)
            {
                await PublishAsync();
                await Task.Delay(10);
            }
        });

        var expected = 6;
        while (expected <= stopLive)
        {
            var msg = await resumed.NextMessageAsync();
            Assert.Equal(expected, msg.GetProperty("data").GetProperty("n").GetInt32());
            Assert.True(msg.GetProperty("seq").GetUInt64() > lastSeq);
            lastSeq = msg.GetProperty("seq").GetUInt64();
            expected++;
        }

        await publishing;
        Assert.True(await resumed.StaysQuietAsync(TimeSpan.FromMilliseconds(300)), "no duplicate after the seam");
    }

    [Fact]
    public async Task Resume_while_publishing_has_no_gap_and_no_duplicate_at_the_seam()
    {
        var (node, root) = await StartDurableNodeAsync();
        await using var _ = node;
        var topic = root + ".busy";
        await using var backend = new NatsConnection(new NatsOpts { Url = nats.Server.Url });
        using var stop = new CancellationTokenSource();
        var published = 0;
        var publisher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var next = Interlocked.Increment(ref published);
                await backend.PublishAsync($"gw.topic.{topic}", Encoding.UTF8.GetBytes($"{{\"n\":{next}}}"));
                await Task.Delay(2);
            }
        });

        var received = new List<int>();
        ulong cursor = 0;
        for (var round = 0; round < 5; round++)
        {
            await using var client = await node.ConnectAsync();
            var reply = await client.RequestAsync("sub", topic, extra: round == 0 ? null : $"\"since\":{cursor}");
            Assert.Equal("ack", reply.GetProperty("op").GetString());
            for (var i = 0; i < 100; i++)
            {
                var msg = await client.NextMessageAsync();
                received.Add(msg.GetProperty("data").GetProperty("n").GetInt32());
                cursor = msg.GetProperty("seq").GetUInt64();
            }
        }

        await stop.CancelAsync();
        await publisher;
        Assert.Equal(Enumerable.Range(received[0], received.Count), received);
    }

    [Fact]
    public async Task Since_older_than_retention_gets_history_gone_with_the_first_available_seq()
    {
        var (node, root) = await StartDurableNodeAsync("--Gateway:Durable:MaxAgeSeconds", "1", "--Gateway:Durable:DuplicateWindowSeconds", "1");
        await using var _ = node;
        var topic = root + ".old";
        var first = await (await node.PublishAsync(topic, "1")).Content.ReadFromJsonAsync<JsonElement>();
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var later = await (await node.PublishAsync(topic, "2")).Content.ReadFromJsonAsync<JsonElement>();

        await using var client = await node.ConnectAsync();
        var err = await client.RequestAsync("sub", topic, extra: $"\"since\":{first.GetProperty("seq").GetUInt64() - 1}");

        Assert.Equal("err", err.GetProperty("op").GetString());
        Assert.Equal("history_gone", err.GetProperty("code").GetString());
        Assert.Equal(later.GetProperty("seq").GetUInt64(), err.GetProperty("first_seq").GetUInt64());
        Assert.Equal("ack", (await client.RequestAsync("sub", topic, extra: $"\"since\":{err.GetProperty("first_seq").GetUInt64() - 1}")).GetProperty("op").GetString());
        Assert.Equal(2, (await client.NextMessageAsync()).GetProperty("data").GetInt32());
    }

    [Fact]
    public async Task Since_before_the_per_topic_limit_gets_history_gone()
    {
        var (node, root) = await StartDurableNodeAsync("--Gateway:Durable:MaxMessagesPerTopic", "5");
        await using var _ = node;
        var topic = root + ".capped";
        for (var i = 1; i <= 20; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await node.PublishAsync(topic, i.ToString())).StatusCode);
        }

        await using var client = await node.ConnectAsync();
        var err = await client.RequestAsync("sub", topic, extra: "\"since\":1");
        Assert.Equal("history_gone", err.GetProperty("code").GetString());

        var ok = await client.RequestAsync("sub", topic, extra: $"\"since\":{err.GetProperty("first_seq").GetUInt64() - 1}");
        Assert.Equal("ack", ok.GetProperty("op").GetString());
        Assert.Equal(16, (await client.NextMessageAsync()).GetProperty("data").GetInt32());
    }

    [Fact]
    public async Task Retried_publish_with_the_same_msg_id_is_stored_once()
    {
        var (node, root) = await StartDurableNodeAsync();
        await using var _ = node;
        var topic = root + ".payments";
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync(topic);

        async Task<JsonElement> Post(string id)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/publish/{topic}") { Content = new StringContent("{\"amount\":5}", Encoding.UTF8, "application/json") };
            request.Headers.Add("Nats-Msg-Id", id);
            return await (await node.Http.SendAsync(request)).Content.ReadFromJsonAsync<JsonElement>();
        }

        var one = await Post("pay-1");
        var again = await Post("pay-1");
        var ws = await client.RequestAsync("pub", topic, "{\"amount\":5}", "\"msg_id\":\"pay-1\"");

        Assert.Equal(one.GetProperty("seq").GetUInt64(), again.GetProperty("seq").GetUInt64());
        Assert.True(again.GetProperty("duplicate").GetBoolean());
        Assert.True(ws.GetProperty("duplicate").GetBoolean());
        Assert.Equal(one.GetProperty("seq").GetUInt64(), (await client.NextMessageAsync()).GetProperty("seq").GetUInt64());
        Assert.True(await client.StaysQuietAsync(TimeSpan.FromMilliseconds(500)));
    }

    [Fact]
    public async Task A_durable_subscriber_gets_only_its_own_topic_live_and_on_replay()
    {
        // nats-server 2.9 ignores the filter_subjects NATS.Net's ordered consumer sends, so the
        // gateway must filter feeds and replays itself (found by the load tool's drain scenario).
        var (node, root) = await StartDurableNodeAsync();
        await using var _ = node;
        var mine = root + ".a";
        var other = root + ".b";
        await using var live = await node.ConnectAsync();
        await live.SubscribeAsync(mine);
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await node.PublishAsync(i % 2 == 0 ? mine : other, $"{{\"n\":{i}}}")).StatusCode);
        }

        for (var i = 0; i < 10; i += 2)
        {
            var msg = await live.NextMessageAsync();
            Assert.Equal(mine, msg.GetProperty("topic").GetString());
            Assert.Equal(i, msg.GetProperty("data").GetProperty("n").GetInt32());
        }

        await using var replayed = await node.ConnectAsync();
        Assert.Equal("ack", (await replayed.RequestAsync("sub", mine, extra: "\"since\":0")).GetProperty("op").GetString());
        for (var i = 0; i < 10; i += 2)
        {
            var msg = await replayed.NextMessageAsync();
            Assert.Equal(mine, msg.GetProperty("topic").GetString());
            Assert.Equal(i, msg.GetProperty("data").GetProperty("n").GetInt32());
        }

        Assert.True(await live.StaysQuietAsync(TimeSpan.FromMilliseconds(500)));
        Assert.True(await replayed.StaysQuietAsync(TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task Durable_patterns_without_NATS_refuse_to_start()
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            GatewayNode.StartAsync(null, "--Gateway:Durable:Patterns:0", "orders.>"));
        Assert.Contains(ex.Failures, m => m.Contains("Gateway:Durable:Patterns"));
    }

    /// <summary>The stream sequence of the message numbered <paramref name="n"/>, read by replaying from the start.</summary>
    private static async Task<ulong> SeqOfMessageAsync(GatewayNode node, string topic, int n)
    {
        await using var probe = await node.ConnectAsync();
        await probe.RequestAsync("sub", topic, extra: "\"since\":0");
        while (true)
        {
            var msg = await probe.NextMessageAsync();
            if (msg.GetProperty("data").GetProperty("n").GetInt32() == n)
            {
                return msg.GetProperty("seq").GetUInt64();
            }
        }
    }
}
