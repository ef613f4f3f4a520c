using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;

namespace PubSubGateway.ControlPlane.Tests.Infrastructure;

/// <summary>A control-plane replica (registry, admin API, router) on real Kestrel bound to 127.0.0.1 on a free port.</summary>
public sealed class ControlPlaneHost : IAsyncDisposable
{
    public const string Token = "test-admin-token-0123456789";

    private readonly WebApplication _app;
    private bool _stopped;

    private ControlPlaneHost(WebApplication app)
    {
        _app = app;
        BaseUrl = app.Urls.First();
        Http = new HttpClient { BaseAddress = new Uri(BaseUrl) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
    }

    public string BaseUrl { get; }

    /// <summary>Client for the admin API, carrying the admin token.</summary>
    public HttpClient Http { get; }

    public Uri RouterWebSocketUri => new(BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws");

    public static async Task<ControlPlaneHost> StartAsync(string natsUrl, string bucket, params string[] settings)
    {
        var args = new List<string>
        {
            "--urls", "http://127.0.0.1:0", "--Nats:Url", natsUrl, "--ControlPlane:Bucket", bucket,
            "--ControlPlane:AdminToken", Token, "--ControlPlane:NodeTtlMs", "1500", "--Logging:LogLevel:Default", "Warning",
        };
        args.AddRange(settings);
        var app = ControlPlaneApp.Create([.. args]);
        await app.StartAsync();
        var host = new ControlPlaneHost(app);
        await WaitFor.ConditionAsync(async () => (await host.Http.GetAsync("/healthz/ready")).IsSuccessStatusCode, because: "control plane ready");
        return host;
    }

    public async Task<IReadOnlyList<JsonElement>> NodesAsync()
    {
        var body = await Http.GetFromJsonAsync<JsonElement>("/api/v1/nodes");
        return [.. body.GetProperty("nodes").EnumerateArray()];
    }

    public async Task<string?> StateOfAsync(string nodeId)
    {
        var response = await Http.GetAsync($"/api/v1/nodes/{nodeId}");
        return response.IsSuccessStatusCode ? (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString() : null;
    }

    /// <summary>Waits until the registry lists exactly these nodes, all in <paramref name="state"/>.</summary>
    public Task WaitForNodesAsync(IEnumerable<string> ids, string state = "active")
    {
        var expected = ids.Order(StringComparer.Ordinal).ToList();
        return WaitFor.ConditionAsync(async () =>
        {
            var nodes = await NodesAsync();
            return nodes.Select(n => n.GetProperty("id").GetString()!).Order(StringComparer.Ordinal).SequenceEqual(expected) &&
                nodes.All(n => n.GetProperty("state").GetString() == state);
        }, because: $"registry lists {string.Join(",", expected)} as {state}");
    }

    public Task<HttpResponseMessage> PostAsync(string path, string? json = null) =>
        Http.PostAsync(path, json is null ? null : new StringContent(json, Encoding.UTF8, "application/json"));

    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await StopAsync();
        await _app.DisposeAsync();
    }
}
