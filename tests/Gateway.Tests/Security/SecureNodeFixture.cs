using System.Text;
using System.Text.Json;
using Microsoft.IdentityModel.Tokens;
using NATS.Client.Core;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.Tests.Security;

/// <summary>
/// A node with authentication required (HS256 secret, an RSA PEM key, an EC key in a JWKS file),
/// an origin allow-list, a publisher API key and tight limits, plus a well-behaved subscriber
/// that must keep receiving every message while hostile cases run.
/// </summary>
public sealed class SecureNodeFixture : IAsyncLifetime
{
    public const string AllowedOrigin = "https://app.example.com";
    public const string ApiKey = "publisher-key-0123456789";
    public const string BystanderTopic = "public.news";

    private readonly string _dir = Directory.CreateTempSubdirectory("gw-sec-").FullName;
    private int _published;

    public NatsServer Nats { get; private set; } = null!;

    public GatewayNode Node { get; private set; } = null!;

    public TestClient Bystander { get; private set; } = null!;

    public NatsConnection Backend { get; private set; } = null!;

    public RsaSecurityKey RsaKey { get; } = Tokens.NewRsaKey();

    public ECDsaSecurityKey EcKey { get; } = Tokens.NewEcKey();

    public async ValueTask InitializeAsync()
    {
        var pem = Path.Combine(_dir, "rsa.pem");
        await File.WriteAllTextAsync(pem, RsaKey.Rsa.ExportSubjectPublicKeyInfoPem());
        var jwks = Path.Combine(_dir, "jwks.json");
        var ec = EcKey.ECDsa.ExportParameters(false);
        await File.WriteAllTextAsync(jwks, JsonSerializer.Serialize(new
        {
            keys = new[]
            {
                new { kty = "EC", crv = "P-256", use = "sig", alg = "ES256", x = Base64UrlEncoder.Encode(ec.Q.X), y = Base64UrlEncoder.Encode(ec.Q.Y) },
            },
        }));

        Nats = await NatsServer.StartAsync();
        Node = await GatewayNode.StartAsync(Nats.Url,
            "--Auth:Jwt:Secret", Tokens.Secret,
            "--Auth:Jwt:PublicKeyFile", pem,
            "--Auth:Jwt:JwksFile", jwks,
            "--Auth:Jwt:Issuer", Tokens.Issuer,
            "--Auth:Jwt:Audience", Tokens.Audience,
            "--Auth:Jwt:ClockSkewSeconds", "0",
            "--Auth:PublishApiKeys:0", ApiKey,
            "--Gateway:AllowedOrigins:0", AllowedOrigin,
            "--Gateway:Limits:MaxFrameBytes", "8192",
            "--Gateway:Limits:MaxPayloadBytes", "2048",
            "--Gateway:Limits:PublishRatePerSecond", "5",
            "--Gateway:Limits:PublishBurst", "5",
            "--Gateway:Limits:MaxRateLimitStrikes", "3",
            "--Gateway:Limits:MaxSubscriptionsPerConnection", "8",
            "--Gateway:Limits:HandshakeTimeoutMs", "1000",
            "--Gateway:Limits:IdleTimeoutMs", "3000",
            "--Gateway:Limits:MaxConnectionsPerUser", "3",
            "--Gateway:Limits:HttpPublishRatePerSecond", "20",
            "--Gateway:Outbound:MaxQueueBytes", "65536");
        Backend = new NatsConnection(new NatsOpts { Url = Nats.Url });
        Bystander = await ConnectAsync(Tokens.Hs256("bystander"));
        await Bystander.SubscribeAsync(BystanderTopic);
    }

    public Uri WsUri(string? token = null) =>
        token is null ? Node.WebSocketUri : new Uri(Node.WebSocketUri + "?access_token=" + Uri.EscapeDataString(token));

    public Task<TestClient> ConnectAsync(string token) => TestClient.ConnectAsync(WsUri(token));

    /// <summary>Publishes the next number to the bystander's topic and checks it arrives, in sequence.</summary>
    public async Task AssertBystanderReceivesAsync()
    {
        var n = Interlocked.Increment(ref _published);
        await Backend.PublishAsync("gw.topic." + BystanderTopic, Encoding.UTF8.GetBytes($"{{\"n\":{n}}}"));
        var msg = await Bystander.NextMessageAsync();
        Assert.Equal(n, msg.GetProperty("data").GetProperty("n").GetInt32());
    }

    public async ValueTask DisposeAsync()
    {
        await Bystander.DisposeAsync();
        await Backend.DisposeAsync();
        await Node.DisposeAsync();
        await Nats.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}
