using System.Net;
using System.Net.Http.Headers;
using System.Net.WebSockets;
using System.Text;
using Microsoft.IdentityModel.Tokens;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.Tests.Security;

/// <summary>
/// Table of hostile inputs against a node with authentication required. Each case checks its
/// documented answer; after each, the well-behaved bystander must still receive the next message.
/// </summary>
public sealed class HostileInputTests(SecureNodeFixture f) : IClassFixture<SecureNodeFixture>
{
    private static readonly Dictionary<string, Func<SecureNodeFixture, Task>> Cases = new()
    {
        // ---- handshake ----
        ["handshake: no token"] = async f => Assert.Equal(401, await UpgradeStatus(f.Node.WebSocketUri)),
        ["handshake: garbage token"] = async f => Assert.Equal(401, await UpgradeStatus(f.WsUri("not-a-jwt"))),
        ["handshake: alg none"] = async f => Assert.Equal(401, await UpgradeStatus(f.WsUri(Tokens.AlgNone()))),
        ["handshake: alg none with empty signature in header"] = async f =>
            Assert.Equal(401, await UpgradeStatus(f.Node.WebSocketUri, $"Authorization: Bearer {Tokens.AlgNone()}\r\n")),
        ["handshake: wrong HS256 secret"] = async f => Assert.Equal(401, await UpgradeStatus(f.WsUri(Tokens.Hs256(secret: "another-secret-that-is-32-bytes-or-more")))),
        ["handshake: expired token"] = async f => Assert.Equal(401, await UpgradeStatus(f.WsUri(Tokens.Hs256(notBefore: DateTime.UtcNow.AddHours(-2), lifetime: TimeSpan.FromHours(1))))),
        ["handshake: token not yet valid"] = async f => Assert.Equal(401, await UpgradeStatus(f.WsUri(Tokens.Hs256(notBefore: DateTime.UtcNow.AddHours(1), lifetime: TimeSpan.FromHours(2))))),
        ["handshake: token without expiry"] = async f => Assert.Equal(401, await UpgradeStatus(f.WsUri(Tokens.Hs256(withExpiry: false)))),
        ["handshake: wrong issuer"] = async f => Assert.Equal(401, await UpgradeStatus(f.WsUri(Tokens.Hs256(issuer: "https://evil.test")))),
        ["handshake: wrong audience"] = async f => Assert.Equal(401, await UpgradeStatus(f.WsUri(Tokens.Hs256(audience: "someone-else")))),
        ["handshake: RS256 from an unknown key"] = async f => Assert.Equal(401, await UpgradeStatus(f.WsUri(Tokens.SignedWith(Tokens.NewRsaKey(), SecurityAlgorithms.RsaSha256)))),
        ["handshake: ES256 from an unknown key"] = async f => Assert.Equal(401, await UpgradeStatus(f.WsUri(Tokens.SignedWith(Tokens.NewEcKey(), SecurityAlgorithms.EcdsaSha256)))),
        ["handshake: RS512 is not an allowed algorithm"] = async f => Assert.Equal(401, await UpgradeStatus(f.WsUri(Tokens.SignedWith(f.RsaKey, SecurityAlgorithms.RsaSha512)))),
        ["handshake: HS256 token with a tampered payload"] = async f =>
        {
            var parts = Tokens.Hs256(sub: ["public.>"]).Split('.');
            var forged = Base64UrlEncoder.Encode(Base64UrlEncoder.DecodeBytes(parts[1]).Concat(Encoding.UTF8.GetBytes(" ")).ToArray());
            Assert.Equal(401, await UpgradeStatus(f.WsUri($"{parts[0]}.{forged}.{parts[2]}")));
        },
        ["handshake: huge token"] = async f => Assert.Equal(401, await UpgradeStatus(f.Node.WebSocketUri, $"Authorization: Bearer {new string('a', 20_000)}\r\n")),
        ["handshake: foreign origin"] = async f => Assert.Equal(403, await UpgradeStatus(f.WsUri(Tokens.Hs256()), "Sec-WebSocket-Protocol: pubsub.v1.json\r\nOrigin: https://evil.example.com\r\n")),
        ["handshake: allowed origin"] = async f => Assert.Equal(101, await UpgradeStatus(f.WsUri(Tokens.Hs256()), $"Sec-WebSocket-Protocol: pubsub.v1.json\r\nOrigin: {SecureNodeFixture.AllowedOrigin}\r\n")),
        ["handshake: valid RS256 token via Authorization header"] = async f =>
            Assert.Equal(101, await UpgradeStatus(f.Node.WebSocketUri, $"Sec-WebSocket-Protocol: pubsub.v1.json\r\nAuthorization: Bearer {Tokens.SignedWith(f.RsaKey, SecurityAlgorithms.RsaSha256)}\r\n")),
        ["handshake: valid ES256 token (JWKS) via subprotocol"] = async f =>
        {
            await using var raw = await RawWebSocket.ConnectAsync(f.Node.WebSocketUri, $"Sec-WebSocket-Protocol: pubsub.v1.json, bearer.{Tokens.SignedWith(f.EcKey, SecurityAlgorithms.EcdsaSha256)}\r\n");
            Assert.Equal(101, raw.Status);
            Assert.Contains("Sec-WebSocket-Protocol: pubsub.v1.json\r\n", raw.ResponseHead);
            Assert.DoesNotContain("bearer.", raw.ResponseHead);
        },
        ["handshake: unsupported subprotocol"] = async f => Assert.Equal(400, await UpgradeStatus(f.WsUri(Tokens.Hs256()), "Sec-WebSocket-Protocol: mqtt\r\n")),
        ["handshake: oversized headers"] = async f => Assert.Equal(431, await UpgradeStatus(f.WsUri(Tokens.Hs256()), $"Sec-WebSocket-Protocol: pubsub.v1.json\r\nX-Padding: {new string('p', 40_000)}\r\n")),
        ["handshake: slow handshake is cut off"] = async f =>
        {
            await using var raw = await RawWebSocket.OpenTcpAsync(f.Node.WebSocketUri);
            await raw.WriteAsync("GET /ws HTTP/1.1\r\nHost: x\r\n");
            Assert.True(await raw.ServerHangsUpAsync(TimeSpan.FromSeconds(10)), "the server should drop a handshake that never finishes");
        },
        ["handshake: plain GET without upgrade"] = async f => Assert.Equal(HttpStatusCode.BadRequest, (await f.Node.Http.GetAsync("/ws")).StatusCode),
        ["handshake: per-user connection limit"] = async f =>
        {
            var token = Tokens.Hs256("limited-user");
            var open = new List<TestClient>();
            try
            {
                for (var i = 0; i < 3; i++)
                {
                    open.Add(await f.ConnectAsync(token));
                }

                await using var fourth = await TestClient.ConnectAsync(f.WsUri(token), paused: true);
                fourth.ResumeReading();
                await fourth.Closed.WaitAsync(TimeSpan.FromSeconds(10));
                Assert.Equal((WebSocketCloseStatus)1013, fourth.CloseStatus);
            }
            finally
            {
                foreach (var c in open)
                {
                    await c.DisposeAsync();
                }
            }
        },

        // ---- frames ----
        ["frame: not JSON"] = async f => await ExpectErr(f, "}{", "bad_request"),
        ["frame: JSON nested deeper than the limit"] = async f => await ExpectErr(f, "{\"op\":\"ping\",\"x\":" + new string('[', 40) + new string(']', 40) + "}", "bad_request"),
        ["frame: huge string in data"] = async f => await ExpectErr(f, "{\"op\":\"pub\",\"id\":\"1\",\"topic\":\"chat.a\",\"data\":\"" + new string('x', 4000) + "\"}", "too_large"),
        ["frame: huge string in id"] = async f => await ExpectErr(f, "{\"op\":\"ping\",\"id\":\"" + new string('i', 4000) + "\"}", "bad_request"),
        ["frame: huge topic"] = async f => await ExpectErr(f, "{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"" + new string('t', 4000) + "\"}", "bad_request"),
        ["frame: unknown op"] = async f => await ExpectErr(f, "{\"op\":\"admin\",\"id\":\"1\"}", "unknown_op"),
        ["frame: empty object"] = async f => await ExpectErr(f, "{}", "bad_request"),
        ["frame: binary"] = async f => await ExpectRawErr(f, raw => raw.SendFrameAsync(0x2, Encoding.UTF8.GetBytes("{\"op\":\"ping\"}")), "bad_request"),
        ["frame: over the size limit"] = async f => await ExpectClose(f, raw => raw.SendTextAsync(new string(' ', 9000) + "{}"), 1009),
        ["frame: fragments over the size limit"] = async f => await ExpectClose(f, async raw =>
        {
            await raw.SendFrameAsync(0x1, new byte[5000], fin: false);
            await raw.SendFrameAsync(0x0, new byte[5000], fin: true);
        }, 1009),
        ["frame: invalid UTF-8"] = async f => await ExpectClose(f, raw => raw.SendFrameAsync(0x1, [0x7B, 0xFF, 0xFE, 0x7D]), 1007),
        ["frame: unmasked client frame"] = async f => await ExpectClose(f, raw => raw.SendFrameAsync(0x1, Encoding.UTF8.GetBytes("{\"op\":\"ping\"}"), masked: false), 1002),
        ["frame: reserved opcode"] = async f => await ExpectClose(f, raw => raw.SendFrameAsync(0x3, [1, 2, 3]), 1002),
        ["frame: reserved bits set"] = async f => await ExpectClose(f, raw => raw.SendFrameAsync(0x1, Encoding.UTF8.GetBytes("{}"), rsv: 0x4), 1002),
        ["frame: continuation without a start"] = async f => await ExpectClose(f, raw => raw.SendFrameAsync(0x0, Encoding.UTF8.GetBytes("{}")), 1002),
        ["frame: fragmented control frame"] = async f => await ExpectClose(f, raw => raw.SendFrameAsync(0x9, [1], fin: false), 1002),
        ["frame: control frame over 125 bytes"] = async f => await ExpectClose(f, raw => raw.SendFrameAsync(0x9, new byte[200]), 1002),
        ["frame: ping flood is answered and survived"] = async f =>
        {
            await using var raw = await OpenRaw(f);
            for (var i = 0; i < 2000; i++)
            {
                await raw.SendFrameAsync(0x9, [1, 2, 3, 4]);
            }

            await raw.SendTextAsync("{\"op\":\"ping\",\"id\":\"after-flood\"}");
            Assert.True(await raw.ReadTextUntilAsync(t => t.Contains("after-flood", StringComparison.Ordinal), TimeSpan.FromSeconds(15)));
        },
        ["frame: repeated garbage closes 1008"] = async f => await ExpectClose(f, async raw =>
        {
            for (var i = 0; i < 25; i++)
            {
                await raw.SendTextAsync("garbage");
            }
        }, 1008),

        // ---- protocol ----
        ["protocol: subscribe to a topic not granted"] = async f => await ExpectErr(f, Req("sub", "secret.plans"), "forbidden"),
        ["protocol: wildcard escalation to >"] = async f => await ExpectErr(f, Req("sub", ">"), "forbidden"),
        ["protocol: wildcard escalation *.news"] = async f => await ExpectErr(f, Req("sub", "*.news"), "forbidden"),
        ["protocol: wildcard escalation chat (parent)"] = async f => await ExpectErr(f, Req("sub", "chat"), "forbidden"),
        ["protocol: narrower wildcard inside a grant is allowed"] = async f => await ExpectOp(f, Req("sub", "chat.*.x"), "ack"),
        ["protocol: own per-user topic is allowed"] = async f => await ExpectOp(f, Req("sub", "user.alice.inbox"), "ack"),
        ["protocol: another user's topic is forbidden"] = async f => await ExpectErr(f, Req("sub", "user.bob.inbox"), "forbidden"),
        ["protocol: wildcard over users is forbidden"] = async f => await ExpectErr(f, Req("sub", "user.*.inbox"), "forbidden"),
        ["protocol: publish to a topic not granted"] = async f => await ExpectErr(f, Req("pub", SecureNodeFixture.BystanderTopic, "\"spoof\""), "forbidden"),
        ["protocol: publish flood is rate limited then closed 4029"] = async f => await ExpectClose(f, async raw =>
        {
            for (var i = 0; i < 40; i++)
            {
                await raw.SendTextAsync(Req("pub", "chat.flood", i.ToString()));
            }
        }, 4029),
        ["protocol: rate limit answers rate_limited"] = async f =>
        {
            await using var client = await f.ConnectAsync(Tokens.Hs256());
            var codes = new List<string>();
            for (var i = 0; i < 7; i++)
            {
                var reply = await client.RequestAsync("pub", "chat.burst", i.ToString());
                codes.Add(reply.GetProperty("op").GetString() == "ack" ? "ack" : reply.GetProperty("code").GetString()!);
            }

            Assert.Equal(5, codes.Count(c => c == "ack"));
            Assert.Equal("rate_limited", codes[^1]);
        },
        ["protocol: subscription flood"] = async f =>
        {
            await using var client = await f.ConnectAsync(Tokens.Hs256());
            for (var i = 0; i < 8; i++)
            {
                await client.SubscribeAsync($"chat.s{i}");
            }

            Assert.Equal("limit_exceeded", (await client.RequestAsync("sub", "chat.s8")).GetProperty("code").GetString());
        },
        ["protocol: auth refresh with a bad token"] = async f => await ExpectErr(f, "{\"op\":\"auth\",\"id\":\"1\",\"token\":\"junk\"}", "unauthorized"),
        ["protocol: auth refresh for another subject"] = async f => await ExpectErr(f, $"{{\"op\":\"auth\",\"id\":\"1\",\"token\":\"{Tokens.Hs256("mallory")}\"}}", "forbidden"),
        ["protocol: auth refresh with alg none"] = async f => await ExpectErr(f, $"{{\"op\":\"auth\",\"id\":\"1\",\"token\":\"{Tokens.AlgNone("alice")}\"}}", "unauthorized"),
        ["protocol: idle connection is closed 1008"] = async f =>
        {
            await using var raw = await OpenRaw(f);
            Assert.Equal(1008, await raw.ReadUntilCloseAsync(TimeSpan.FromSeconds(10)));
        },

        // ---- HTTP publish API ----
        ["http: no token"] = async f => await ExpectHttp(f, null, "chat.a", "{}", HttpStatusCode.Unauthorized, "unauthorized"),
        ["http: bad token"] = async f => await ExpectHttp(f, "junk", "chat.a", "{}", HttpStatusCode.Unauthorized, "unauthorized"),
        ["http: wrong API key"] = async f => await ExpectHttp(f, "publisher-key-9999999999", "chat.a", "{}", HttpStatusCode.Unauthorized, "unauthorized"),
        ["http: JWT without the publisher role"] = async f => await ExpectHttp(f, Tokens.Hs256(), "chat.a", "{}", HttpStatusCode.Forbidden, "forbidden"),
        ["http: publisher JWT on a topic it may not publish to"] = async f => await ExpectHttp(f, Tokens.Hs256(roles: ["publisher"]), "secret.a", "{}", HttpStatusCode.Forbidden, "forbidden"),
        ["http: publisher JWT on its topic"] = async f => await ExpectHttp(f, Tokens.Hs256(roles: ["publisher"]), "chat.a", "{}", HttpStatusCode.Accepted, null),
        ["http: API key"] = async f => await ExpectHttp(f, SecureNodeFixture.ApiKey, "chat.a", "{}", HttpStatusCode.Accepted, null),
        ["http: bad topic"] = async f => await ExpectHttp(f, SecureNodeFixture.ApiKey, "chat..a", "{}", HttpStatusCode.BadRequest, "bad_topic"),
        ["http: non-JSON body"] = async f => await ExpectHttp(f, SecureNodeFixture.ApiKey, "chat.a", "<xml/>", HttpStatusCode.BadRequest, "bad_request"),
        ["http: too deep JSON"] = async f => await ExpectHttp(f, SecureNodeFixture.ApiKey, "chat.a", new string('[', 40) + new string(']', 40), HttpStatusCode.BadRequest, "bad_request"),
        ["http: oversized body"] = async f => await ExpectHttp(f, SecureNodeFixture.ApiKey, "chat.a", "\"" + new string('x', 5000) + "\"", HttpStatusCode.RequestEntityTooLarge, "too_large"),
        ["http: request flood is rate limited"] = async f =>
        {
            var statuses = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ => Post(f, SecureNodeFixture.ApiKey, "chat.a", "{}")));
            Assert.Contains(statuses, r => r.StatusCode == HttpStatusCode.TooManyRequests);
            Assert.Contains("\"code\":\"rate_limited\"", await statuses.First(r => r.StatusCode == HttpStatusCode.TooManyRequests).Content.ReadAsStringAsync());
            await Task.Delay(TimeSpan.FromSeconds(3.5)); // let the bucket refill for the cases after this one
        },
    };

    public static TheoryData<string> CaseNames => [.. Cases.Keys];

    [Fact]
    public void The_table_has_at_least_sixty_cases() => Assert.True(Cases.Count >= 60, $"{Cases.Count} cases");

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Hostile_input_gets_its_documented_answer_and_the_bystander_keeps_receiving(string name)
    {
        await Cases[name](f);
        await f.AssertBystanderReceivesAsync();
    }

    private static string Req(string op, string topic, string? data = null) =>
        $"{{\"op\":\"{op}\",\"id\":\"x\",\"topic\":\"{topic}\"{(data is null ? "" : ",\"data\":" + data)}}}";

    private static async Task<int> UpgradeStatus(Uri uri, string headers = "Sec-WebSocket-Protocol: pubsub.v1.json\r\n")
    {
        await using var raw = await RawWebSocket.ConnectAsync(uri, headers);
        return raw.Status;
    }

    private static async Task<RawWebSocket> OpenRaw(SecureNodeFixture f)
    {
        var raw = await RawWebSocket.ConnectAsync(f.WsUri(Tokens.Hs256()));
        Assert.Equal(101, raw.Status);
        return raw;
    }

    private static async Task ExpectErr(SecureNodeFixture f, string frame, string code)
    {
        await using var client = await f.ConnectAsync(Tokens.Hs256());
        await client.SendRawAsync(frame);
        var reply = await client.NextAsync();
        Assert.True(reply.GetProperty("op").GetString() == "err", reply.ToString());
        Assert.Equal(code, reply.GetProperty("code").GetString());
        Assert.Equal("pong", (await client.RequestAsync("ping")).GetProperty("op").GetString());
    }

    private static async Task ExpectOp(SecureNodeFixture f, string frame, string op)
    {
        await using var client = await f.ConnectAsync(Tokens.Hs256());
        await client.SendRawAsync(frame);
        Assert.Equal(op, (await client.NextAsync()).GetProperty("op").GetString());
    }

    private static async Task ExpectRawErr(SecureNodeFixture f, Func<RawWebSocket, Task> act, string code)
    {
        await using var raw = await OpenRaw(f);
        await act(raw);
        Assert.True(await raw.ReadTextUntilAsync(t => t.Contains($"\"code\":\"{code}\"", StringComparison.Ordinal), TimeSpan.FromSeconds(10)));
    }

    private static async Task ExpectClose(SecureNodeFixture f, Func<RawWebSocket, Task> act, int code)
    {
        await using var raw = await OpenRaw(f);
        await act(raw);
        Assert.Equal(code, await raw.ReadUntilCloseAsync(TimeSpan.FromSeconds(15)));
    }

    private static async Task<HttpResponseMessage> Post(SecureNodeFixture f, string? bearer, string topic, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/publish/{topic}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return await f.Node.Http.SendAsync(request);
    }

    private static async Task ExpectHttp(SecureNodeFixture f, string? bearer, string topic, string body, HttpStatusCode status, string? code)
    {
        var response = await Post(f, bearer, topic, body);
        Assert.Equal(status, response.StatusCode);
        if (code is not null)
        {
            Assert.Contains($"\"code\":\"{code}\"", await response.Content.ReadAsStringAsync());
        }
    }
}
