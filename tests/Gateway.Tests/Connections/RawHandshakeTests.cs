using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.Tests.Connections;

/// <summary>
/// The raw-connection handshake (Gateway:RawHandshake): accepted upgrades skip the HTTP pipeline,
/// everything else still reaches it with its bytes intact, however the bytes were split.
/// </summary>
public sealed class RawHandshakeTests
{
    private static string UpgradeHead(Uri uri, string extra = "Sec-WebSocket-Protocol: pubsub.v1.json\r\n") =>
        $"GET {uri.PathAndQuery} HTTP/1.1\r\nHost: {uri.Host}:{uri.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        $"Sec-WebSocket-Key: {Convert.ToBase64String(RandomNumberGenerator.GetBytes(16))}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n";

    [Fact]
    public async Task Accepted_upgrades_are_completed_on_the_raw_connection_and_carry_messages()
    {
        await using var node = await GatewayNode.StartAsync(null);
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync("raw.a");
        Assert.Equal(HttpStatusCode.Accepted, (await node.PublishAsync("raw.a", "{\"n\":1}")).StatusCode);

        var message = await client.NextMessageAsync();
        Assert.Equal(1, message.GetProperty("data").GetProperty("n").GetInt32());
        Assert.Equal(1, await node.MetricAsync("gateway_raw_handshakes_total"));
        Assert.Equal(1, await node.MetricAsync("gateway_connections"));
    }

    [Fact]
    public async Task With_RawHandshake_off_every_upgrade_goes_through_the_HTTP_pipeline()
    {
        await using var node = await GatewayNode.StartAsync(null, "--Gateway:RawHandshake", "false");
        await using var client = await node.ConnectAsync();
        await client.SubscribeAsync("raw.b");
        Assert.Equal(HttpStatusCode.Accepted, (await node.PublishAsync("raw.b", "{\"n\":2}")).StatusCode);

        Assert.Equal(2, (await client.NextMessageAsync()).GetProperty("data").GetProperty("n").GetInt32());
        Assert.Equal(0, await node.MetricAsync("gateway_raw_handshakes_total"));
    }

    [Fact]
    public async Task A_handshake_sent_one_byte_at_a_time_is_accepted()
    {
        await using var node = await GatewayNode.StartAsync(null);
        await using var raw = await RawWebSocket.OpenTcpAsync(node.WebSocketUri);
        foreach (var c in UpgradeHead(node.WebSocketUri))
        {
            await raw.WriteAsync(c.ToString());
            await Task.Delay(1);
        }

        await raw.ReadHeadAsync();
        Assert.Equal(101, raw.Status);
        Assert.Contains("Sec-WebSocket-Protocol: pubsub.v1.json\r\n", raw.ResponseHead);
        Assert.True(await raw.ReadTextUntilAsync(t => t.Contains("\"op\":\"hello\"", StringComparison.Ordinal), TimeSpan.FromSeconds(10)));
        Assert.Equal(1, await node.MetricAsync("gateway_raw_handshakes_total"));
    }

    [Fact]
    public async Task Frames_sent_in_the_same_packet_as_the_handshake_are_not_lost()
    {
        await using var node = await GatewayNode.StartAsync(null);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(node.WebSocketUri.Host, node.WebSocketUri.Port);
        var stream = tcp.GetStream();
        var head = Encoding.ASCII.GetBytes(UpgradeHead(node.WebSocketUri));
        var frame = MaskedText("{\"op\":\"sub\",\"id\":\"s1\",\"topic\":\"raw.c\"}");
        await stream.WriteAsync(head.Concat(frame).ToArray());

        var text = await ReadAllTextAsync(stream, "\"id\":\"s1\"", TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 101 ", text, StringComparison.Ordinal);
        Assert.Contains("\"op\":\"ack\"", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("GET /ws HTTP/1.1\r\nHost: x\r\n", "\r\n", 400)]                       // starts like ours, no upgrade headers
    [InlineData("GE", "T /healthz/live HTTP/1.1\r\nHost: x\r\n\r\n", 200)]               // ambiguous first read, another path
    [InlineData("GET /w", "sx HTTP/1.1\r\nHost: x\r\n\r\n", 404)]                        // /wsx is not /ws
    [InlineData("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n", "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: bad\r\n\r\n", 400)]
    public async Task Requests_split_over_reads_that_are_not_accepted_upgrades_reach_the_HTTP_pipeline_intact(string first, string second, int status)
    {
        await using var node = await GatewayNode.StartAsync(null);
        await using var raw = await RawWebSocket.OpenTcpAsync(node.WebSocketUri);
        await raw.WriteAsync(first);
        await Task.Delay(150);
        await raw.WriteAsync(second);
        await raw.ReadHeadAsync();

        Assert.Equal(status, raw.Status);
        Assert.Equal(0, await node.MetricAsync("gateway_raw_handshakes_total"));
    }

    [Fact]
    public async Task A_refused_handshake_split_over_reads_gets_the_HTTP_pipelines_answer()
    {
        await using var node = await GatewayNode.StartAsync(null, "--Gateway:AllowedOrigins:0", "https://app.example.com");
        var head = UpgradeHead(node.WebSocketUri, "Sec-WebSocket-Protocol: pubsub.v1.json\r\nOrigin: https://evil.example.com\r\n");
        await using var raw = await RawWebSocket.OpenTcpAsync(node.WebSocketUri);
        await raw.WriteAsync(head[..20]);
        await Task.Delay(150);
        await raw.WriteAsync(head[20..]);
        await raw.ReadHeadAsync();

        Assert.Equal(403, raw.Status);
        Assert.Equal(1, await node.MetricAsync("gateway_connections_rejected_total", "reason=\"origin\""));
    }

    [Fact]
    public async Task An_upgrade_after_a_plain_request_on_a_kept_alive_connection_still_works()
    {
        await using var node = await GatewayNode.StartAsync(null);
        await using var raw = await RawWebSocket.OpenTcpAsync(node.WebSocketUri);
        await raw.WriteAsync("GET /healthz/live HTTP/1.1\r\nHost: x\r\n\r\n");
        await raw.ReadHeadAsync();
        Assert.Equal(200, raw.Status);
        var length = int.Parse(System.Text.RegularExpressions.Regex.Match(raw.ResponseHead, @"Content-Length: (\d+)", System.Text.RegularExpressions.RegexOptions.IgnoreCase).Groups[1].Value);
        Assert.Equal("ok", await raw.ReadBodyAsync(length));

        await raw.WriteAsync(UpgradeHead(node.WebSocketUri));
        await raw.ReadHeadAsync();
        Assert.Equal(101, raw.Status);
        Assert.True(await raw.ReadTextUntilAsync(t => t.Contains("\"op\":\"hello\"", StringComparison.Ordinal), TimeSpan.FromSeconds(10)));
        Assert.Equal(0, await node.MetricAsync("gateway_raw_handshakes_total")); // the HTTP pipeline owned this connection
    }

    [Fact]
    public async Task Closing_a_raw_connection_releases_its_slot_and_subscriptions()
    {
        await using var node = await GatewayNode.StartAsync(null, "--Gateway:Limits:MaxConnectionsPerIp", "1");
        var first = await node.ConnectAsync();
        await first.SubscribeAsync("raw.d");
        await using (var refused = await RawWebSocket.ConnectAsync(node.WebSocketUri))
        {
            Assert.Equal(429, refused.Status);
        }

        await first.CloseAsync();
        await first.DisposeAsync();
        await WaitFor.ConditionAsync(async () => await node.MetricAsync("gateway_connections") == 0 && await node.MetricAsync("gateway_subscriptions") == 0);
        await using var again = await node.ConnectAsync();
        Assert.Equal(2, await node.MetricAsync("gateway_raw_handshakes_total"));
    }

    private static byte[] MaskedText(string text)
    {
        var payload = Encoding.UTF8.GetBytes(text);
        var mask = RandomNumberGenerator.GetBytes(4);
        var frame = new List<byte> { 0x81, (byte)(0x80 | payload.Length) };
        frame.AddRange(mask);
        frame.AddRange(payload.Select((b, i) => (byte)(b ^ mask[i % 4])));
        return [.. frame];
    }

    /// <summary>Everything the server sends (frame bytes included, as Latin-1) until <paramref name="marker"/> shows up.</summary>
    private static async Task<string> ReadAllTextAsync(NetworkStream stream, string marker, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var text = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            while (!text.ToString().Contains(marker, StringComparison.Ordinal))
            {
                var n = await stream.ReadAsync(buffer, cts.Token);
                if (n == 0)
                {
                    break;
                }

                text.Append(Encoding.Latin1.GetString(buffer, 0, n));
            }
        }
        catch (OperationCanceledException)
        {
        }

        return text.ToString();
    }
}
