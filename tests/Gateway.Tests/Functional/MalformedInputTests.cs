using System.Net.WebSockets;
using System.Text;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.Tests.Functional;

/// <summary>
/// Every class of bad client input gets its documented answer, and a well-behaved client on the
/// same node keeps receiving throughout.
/// </summary>
[Collection(NatsCollection.Name)]
public sealed class MalformedInputTests(NatsFixture nats)
{
    public static TheoryData<string, string, string> ErrorCases => new()
    {
        // name, raw frame, expected err code
        { "not JSON", "hello there", "bad_request" },
        { "truncated JSON", "{\"op\":\"sub\",\"topic\":", "bad_request" },
        { "trailing garbage", "{\"op\":\"ping\"} {}", "bad_request" },
        { "JSON array", "[1,2,3]", "bad_request" },
        { "JSON string", "\"sub\"", "bad_request" },
        { "JSON number", "42", "bad_request" },
        { "empty frame", "", "bad_request" },
        { "unpaired surrogate escape in a key", "{\"\\udc00\":1}", "bad_request" },
        { "unpaired surrogate escape in op", "{\"op\":\"\\ud800\"}", "bad_request" },
        { "unknown op", "{\"op\":\"subscribe\",\"id\":\"1\",\"topic\":\"a\"}", "unknown_op" },
        { "missing op", "{\"id\":\"1\",\"topic\":\"a\"}", "bad_request" },
        { "op not a string", "{\"op\":7,\"id\":\"1\"}", "bad_request" },
        { "id not a string", "{\"op\":\"ping\",\"id\":{\"x\":1}}", "bad_request" },
        { "sub without topic", "{\"op\":\"sub\",\"id\":\"1\"}", "bad_request" },
        { "unsub without topic", "{\"op\":\"unsub\",\"id\":\"1\"}", "bad_request" },
        { "pub without data", "{\"op\":\"pub\",\"id\":\"1\",\"topic\":\"a.b\"}", "bad_request" },
        { "topic not a string", "{\"op\":\"sub\",\"id\":\"1\",\"topic\":[\"a\"]}", "bad_request" },
        { "empty topic", "{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"\"}", "bad_topic" },
        { "empty token", "{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"a..b\"}", "bad_topic" },
        { "trailing dot", "{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"a.b.\"}", "bad_topic" },
        { "bad character", "{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"a.b c\"}", "bad_topic" },
        { "non-ASCII topic", "{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"caf\u00e9\"}", "bad_topic" },
        { "topic too long", "{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"" + new string('a', 257) + "\"}", "bad_topic" },
        { "too many tokens", "{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"" + string.Join('.', Enumerable.Repeat("a", 17)) + "\"}", "bad_topic" },
        { "'>' not last", "{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"a.>.b\"}", "bad_topic" },
        { "partial wildcard", "{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"a.b*\"}", "bad_topic" },
        { "wildcard publish", "{\"op\":\"pub\",\"id\":\"1\",\"topic\":\"a.*\",\"data\":1}", "bad_topic" },
        { "since on non-durable topic", "{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"a.b\",\"since\":5}", "bad_request" },
        { "negative since", "{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"a.b\",\"since\":-1}", "bad_request" },
        { "too deep JSON", "{\"op\":\"pub\",\"id\":\"1\",\"topic\":\"a\",\"data\":" + new string('[', 100) + new string(']', 100) + "}", "bad_request" },
        { "data too large", "{\"op\":\"pub\",\"id\":\"1\",\"topic\":\"a\",\"data\":\"" + new string('x', 2000) + "\"}", "too_large" },
    };

    [Theory]
    [MemberData(nameof(ErrorCases))]
    public async Task Bad_frame_gets_err_and_the_node_keeps_serving(string name, string frame, string code)
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url, "--Gateway:Limits:MaxPayloadBytes", "1024", "--Gateway:Outbound:MaxQueueBytes", "65536");
        await using var bystander = await node.ConnectAsync();
        var topic = NatsFixture.UniqueTopic();
        await bystander.SubscribeAsync(topic);
        await using var attacker = await node.ConnectAsync();

        await attacker.SendRawAsync(frame);

        var err = await attacker.NextAsync();
        Assert.True(err.GetProperty("op").GetString() == "err", $"{name}: expected err, got {err}");
        Assert.Equal(code, err.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(err.GetProperty("message").GetString()));
        Assert.Equal("pong", (await attacker.RequestAsync("ping")).GetProperty("op").GetString());
        await AssertStillServes(node, bystander, topic);
    }

    [Fact]
    public async Task Error_echoes_the_request_id()
    {
        await using var node = await GatewayNode.StartAsync(null);
        await using var client = await node.ConnectAsync();

        var err = await client.RequestAsync("sub", "bad topic");

        Assert.Equal("err", err.GetProperty("op").GetString());
        Assert.Equal("bad_topic", err.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Binary_frame_gets_err()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url);
        await using var client = await node.ConnectAsync();

        await client.SendRawAsync(Encoding.UTF8.GetBytes("{\"op\":\"ping\"}"), WebSocketMessageType.Binary);

        var err = await client.NextAsync();
        Assert.Equal("bad_request", err.GetProperty("code").GetString());
        Assert.Contains("binary", err.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Fragmented_frame_is_reassembled()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url);
        await using var client = await node.ConnectAsync();

        await client.SendRawAsync(Encoding.UTF8.GetBytes("{\"op\":\"pi"), WebSocketMessageType.Text, endOfMessage: false);
        await client.SendRawAsync(Encoding.UTF8.GetBytes("ng\",\"id\":\"f\"}"), WebSocketMessageType.Text, endOfMessage: true);

        var pong = await client.NextAsync();
        Assert.Equal("pong", pong.GetProperty("op").GetString());
        Assert.Equal("f", pong.GetProperty("id").GetString());
    }

    [Fact]
    public async Task Frame_over_the_limit_closes_with_1009()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url, "--Gateway:Limits:MaxFrameBytes", "4096", "--Gateway:Limits:MaxPayloadBytes", "1024");
        await using var bystander = await node.ConnectAsync();
        var topic = NatsFixture.UniqueTopic();
        await bystander.SubscribeAsync(topic);
        await using var client = await node.ConnectAsync();

        await client.SendRawAsync("{\"op\":\"pub\",\"topic\":\"a\",\"data\":\"" + new string('x', 10_000) + "\"}");

        await client.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((WebSocketCloseStatus)1009, client.CloseStatus);
        await AssertStillServes(node, bystander, topic);
    }

    [Fact]
    public async Task Invalid_utf8_closes_with_1007()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url);
        await using var client = await node.ConnectAsync();

        await client.SendRawAsync([(byte)'"', 0xC3, 0x28, (byte)'"'], WebSocketMessageType.Text);

        await client.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(client.CloseStatus == WebSocketCloseStatus.InvalidPayloadData, $"close {client.CloseStatus}, read error: {client.ReadError}");
    }

    [Fact]
    public async Task Too_many_subscriptions_get_limit_exceeded()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url, "--Gateway:Limits:MaxSubscriptionsPerConnection", "3");
        await using var client = await node.ConnectAsync();
        var root = NatsFixture.UniqueTopic();
        for (var i = 0; i < 3; i++)
        {
            await client.SubscribeAsync($"{root}.{i}");
        }

        var err = await client.RequestAsync("sub", $"{root}.x");
        Assert.Equal("limit_exceeded", err.GetProperty("code").GetString());

        // Freeing a slot allows a new subscription.
        await client.RequestAsync("unsub", $"{root}.0");
        await client.SubscribeAsync($"{root}.x");
    }

    [Fact]
    public async Task Repeated_abuse_closes_with_1008()
    {
        await using var node = await GatewayNode.StartAsync(null, "--Gateway:Limits:MaxErrorsPerWindow", "5");
        await using var client = await node.ConnectAsync();

        for (var i = 0; i < 10 && client.Socket.State == WebSocketState.Open; i++)
        {
            await client.SendRawAsync("nonsense");
        }

        await client.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WebSocketCloseStatus.PolicyViolation, client.CloseStatus);
    }

    [Fact]
    public async Task Connections_over_the_node_limit_close_with_1013()
    {
        await using var node = await GatewayNode.StartAsync(null, "--Gateway:Limits:MaxConnections", "2");
        await using var first = await node.ConnectAsync();
        await using var second = await node.ConnectAsync();

        await using var third = await TestClient.ConnectAsync(node.WebSocketUri, paused: true);
        third.ResumeReading();
        await third.Closed.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal((WebSocketCloseStatus)1013, third.CloseStatus);
        Assert.Equal(1, await node.MetricAsync("gateway_connections_rejected_total", "reason=\"max_connections\""));
        Assert.Equal("pong", (await first.RequestAsync("ping")).GetProperty("op").GetString());
    }

    [Fact]
    public async Task Plain_http_request_to_ws_gets_400_json()
    {
        await using var node = await GatewayNode.StartAsync(null);

        var response = await node.Http.GetAsync("/ws");

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"code\":\"bad_request\"", await response.Content.ReadAsStringAsync());
    }

    private static async Task AssertStillServes(GatewayNode node, TestClient bystander, string topic)
    {
        var marker = Guid.NewGuid().ToString("N");
        await node.PublishAsync(topic, $"\"{marker}\"");
        var msg = await bystander.NextMessageAsync();
        Assert.Equal(marker, msg.GetProperty("data").GetString());
    }
}
