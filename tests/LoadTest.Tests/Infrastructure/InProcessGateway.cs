using Microsoft.AspNetCore.Builder;

namespace PubSubGateway.LoadTest.Tests.Infrastructure;

/// <summary>A gateway node on real Kestrel (127.0.0.1, free port) in the test process, as Gateway.Tests hosts it.</summary>
public sealed class InProcessGateway : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessGateway(WebApplication app)
    {
        _app = app;
        BaseUrl = app.Urls.First();
    }

    public string BaseUrl { get; }

    public string WebSocketUrl => BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws";

    public string MetricsUrl => BaseUrl + "/metrics";

    /// <param name="natsUrl">NATS to use, or null for the in-process bus.</param>
    /// <param name="settings">Extra gateway settings, e.g. <c>--Gateway:Limits:MaxConnectionsPerIp 5</c>.</param>
    public static async Task<InProcessGateway> StartAsync(string? natsUrl, params string[] settings)
    {
        var args = new List<string> { "--urls", "http://127.0.0.1:0", "--Gateway:NodeId", "loadtest-" + Guid.NewGuid().ToString("N")[..6], "--Logging:LogLevel:Default", "Warning" };
        if (natsUrl is not null)
        {
            args.AddRange(["--Nats:Url", natsUrl]);
        }

        args.AddRange(settings);
        var app = GatewayApp.Create([.. args]);
        await app.StartAsync();
        return new InProcessGateway(app);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
