using Microsoft.AspNetCore.Builder;
using PubSubGateway.ControlPlane;

namespace PubSubGateway.LoadTest.Tests.Infrastructure;

/// <summary>A control-plane replica (registry, admin API, YARP router) on real Kestrel (127.0.0.1, free port) in the test process.</summary>
public sealed class InProcessControlPlane : IAsyncDisposable
{
    private readonly WebApplication _app;

    private InProcessControlPlane(WebApplication app)
    {
        _app = app;
        BaseUrl = app.Urls.First();
    }

    public string BaseUrl { get; }

    public string RouterWebSocketUrl => BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws";

    public static async Task<InProcessControlPlane> StartAsync(string natsUrl, params string[] settings)
    {
        var args = new List<string> { "--urls", "http://127.0.0.1:0", "--Nats:Url", natsUrl, "--Logging:LogLevel:Default", "Warning" };
        args.AddRange(settings);
        var app = ControlPlaneApp.Create([.. args]);
        await app.StartAsync();
        return new InProcessControlPlane(app);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
