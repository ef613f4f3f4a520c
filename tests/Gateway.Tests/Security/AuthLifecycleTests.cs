using System.Net.WebSockets;
using System.Text;
using Microsoft.Extensions.Logging;
using PubSubGateway.Connections;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.Tests.Security;

[Collection(NatsCollection.Name)]
public sealed class AuthLifecycleTests(NatsFixture nats)
{
    private static readonly string[] AuthSettings =
    [
        "--Auth:Jwt:Secret", Tokens.Secret, "--Auth:Jwt:Issuer", Tokens.Issuer, "--Auth:Jwt:Audience", Tokens.Audience,
        "--Auth:Jwt:ClockSkewSeconds", "0",
    ];

    [Fact]
    public async Task Connection_is_closed_with_4001_when_its_token_expires()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url, AuthSettings);
        var token = Tokens.Hs256(lifetime: TimeSpan.FromSeconds(61), notBefore: DateTime.UtcNow.AddSeconds(-59));
        await using var client = await TestClient.ConnectAsync(new Uri(node.WebSocketUri + "?access_token=" + token));
        await client.SubscribeAsync("chat.expiring");

        await client.Closed.WaitAsync(TimeSpan.FromSeconds(15));

        Assert.Equal((WebSocketCloseStatus)4001, client.CloseStatus);
    }

    [Fact]
    public async Task Refreshing_the_token_before_expiry_keeps_the_connection()
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url, AuthSettings);
        var shortLived = Tokens.Hs256(lifetime: TimeSpan.FromSeconds(62), notBefore: DateTime.UtcNow.AddSeconds(-59));
        await using var client = await TestClient.ConnectAsync(new Uri(node.WebSocketUri + "?access_token=" + shortLived));
        await client.SubscribeAsync("chat.refresh");

        var ack = await client.RequestAsync("auth", extra: $"\"token\":\"{Tokens.Hs256()}\"");
        Assert.Equal("ack", ack.GetProperty("op").GetString());

        await Task.Delay(TimeSpan.FromSeconds(5));
        Assert.Equal(WebSocketState.Open, client.Socket.State);
        await node.PublishAsync("chat.refresh", "1");
        Assert.Equal(WebSocketState.Open, client.Socket.State);
    }

    [Fact]
    public async Task Anonymous_permissions_come_from_config_when_auth_is_not_required()
    {
        await using var node = await GatewayNode.StartAsync(null,
            "--Auth:Anonymous:Subscribe:0", "public.>", "--Auth:Anonymous:Publish:0", "public.chat");
        await using var client = await node.ConnectAsync();

        await client.SubscribeAsync("public.news");
        Assert.Equal("forbidden", (await client.RequestAsync("sub", "private.x")).GetProperty("code").GetString());
        Assert.Equal("ack", (await client.RequestAsync("pub", "public.chat", "1")).GetProperty("op").GetString());
        Assert.Equal("forbidden", (await client.RequestAsync("pub", "public.news", "1")).GetProperty("code").GetString());
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, (await node.PublishAsync("private.x", "1")).StatusCode);
    }

    [Fact]
    public async Task Keys_are_fetched_from_a_JWKS_URL()
    {
        var key = Tokens.NewEcKey();
        var ec = key.ECDsa.ExportParameters(false);
        var jwks = System.Text.Json.JsonSerializer.Serialize(new
        {
            keys = new[] { new { kty = "EC", crv = "P-256", use = "sig", alg = "ES256",
                x = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(ec.Q.X), y = Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(ec.Q.Y) } },
        });
        var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateBuilder();
        Microsoft.AspNetCore.Hosting.HostingAbstractionsWebHostBuilderExtensions.UseUrls(builder.WebHost, "http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        await using var issuer = builder.Build();
        Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapGet(issuer, "/.well-known/jwks.json", () => Microsoft.AspNetCore.Http.Results.Text(jwks, "application/json"));
        await issuer.StartAsync();

        await using var node = await GatewayNode.StartAsync(nats.Server.Url,
            "--Auth:Jwt:JwksUrl", issuer.Urls.First() + "/.well-known/jwks.json", "--Auth:Jwt:Issuer", Tokens.Issuer, "--Auth:Jwt:Audience", Tokens.Audience);

        var good = Tokens.SignedWith(key, Microsoft.IdentityModel.Tokens.SecurityAlgorithms.EcdsaSha256);
        await using var client = await TestClient.ConnectAsync(new Uri(node.WebSocketUri + "?access_token=" + good));
        Assert.Equal("hello", client.Hello.GetProperty("op").GetString());
        var foreign = Tokens.SignedWith(Tokens.NewEcKey(), Microsoft.IdentityModel.Tokens.SecurityAlgorithms.EcdsaSha256);
        await using var raw = await RawWebSocket.ConnectAsync(new Uri(node.WebSocketUri + "?access_token=" + foreign));
        Assert.Equal(401, raw.Status);
    }

    [Fact]
    public async Task Connections_over_the_per_IP_limit_get_429()
    {
        await using var node = await GatewayNode.StartAsync(null, "--Gateway:Limits:MaxConnectionsPerIp", "2");
        await using var first = await node.ConnectAsync();
        await using var second = await node.ConnectAsync();

        await using var third = await RawWebSocket.ConnectAsync(node.WebSocketUri);
        Assert.Equal(429, third.Status);

        await first.CloseAsync();
        await WaitFor.ConditionAsync(async () => await node.MetricAsync("gateway_connections") == 1);
        await using var again = await RawWebSocket.ConnectAsync(node.WebSocketUri);
        Assert.Equal(101, again.Status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Per_IP_limits_use_X_Forwarded_For_only_from_trusted_proxies(bool trusted)
    {
        string[] settings = trusted
            ? ["--Gateway:Limits:MaxConnectionsPerIp", "1", "--Gateway:TrustedProxies:0", "127.0.0.0/8"]
            : ["--Gateway:Limits:MaxConnectionsPerIp", "1"];
        await using var node = await GatewayNode.StartAsync(null, settings);

        await using var alice = await RawWebSocket.ConnectAsync(node.WebSocketUri, "Sec-WebSocket-Protocol: pubsub.v1.json\r\nX-Forwarded-For: 203.0.113.7\r\n");
        await using var bob = await RawWebSocket.ConnectAsync(node.WebSocketUri, "Sec-WebSocket-Protocol: pubsub.v1.json\r\nX-Forwarded-For: 198.51.100.9\r\n");
        await using var aliceAgain = await RawWebSocket.ConnectAsync(node.WebSocketUri, "Sec-WebSocket-Protocol: pubsub.v1.json\r\nX-Forwarded-For: 203.0.113.7\r\n");

        Assert.Equal(101, alice.Status);
        Assert.Equal(trusted ? 101 : 429, bob.Status); // untrusted: both look like 127.0.0.1
        Assert.Equal(429, aliceAgain.Status);
    }

    [Fact]
    public async Task Auth_required_without_a_key_refuses_to_start()
    {
        var ex = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            GatewayNode.StartAsync(null, "--Auth:Required", "true", "--Auth:Jwt:Secret", "short"));
        Assert.Contains(ex.Failures, m => m.Contains("Auth:Jwt:Secret"));
    }

    [Fact]
    public async Task Tokens_and_keys_never_appear_in_logs_or_metrics()
    {
        var logs = new CapturingLoggerProvider();
        var token = Tokens.Hs256();
        const string apiKey = "super-secret-publisher-key-42";
        await using var node = await GatewayNode.StartAsync(nats.Server.Url, logs,
            [.. AuthSettings, "--Auth:PublishApiKeys:0", apiKey, "--Logging:LogLevel:Default", "Trace", "--Logging:LogLevel:Microsoft.AspNetCore", "Warning"]);

        await using (var client = await TestClient.ConnectAsync(new Uri(node.WebSocketUri + "?access_token=" + token)))
        {
            await client.SubscribeAsync("chat.logs");
            await client.RequestAsync("auth", extra: "\"token\":\"bad.token.value\"");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/publish/chat.logs") { Content = new StringContent("{}", Encoding.UTF8) };
        request.Headers.Authorization = new("Bearer", apiKey);
        await node.Http.SendAsync(request);
        await Assert.ThrowsAnyAsync<Exception>(() => TestClient.ConnectAsync(new Uri(node.WebSocketUri + "?access_token=" + Tokens.AlgNone())));

        var text = logs.Text + await node.Http.GetStringAsync("/metrics");
        Assert.True(logs.Count > 0, "the test must capture some logs");
        Assert.DoesNotContain(token, text);
        Assert.DoesNotContain(token.Split('.')[2], text);
        Assert.DoesNotContain(apiKey, text);
        Assert.DoesNotContain(Tokens.Secret, text);
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly StringBuilder _text = new();

        public int Count { get; private set; }

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void Dispose()
        {
        }

        private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (owner._text)
                {
                    owner.Count++;
                    owner._text.Append(category).Append(": ").Append(formatter(state, exception)).Append(' ').Append(exception).AppendLine();
                }
            }
        }
    }
}
