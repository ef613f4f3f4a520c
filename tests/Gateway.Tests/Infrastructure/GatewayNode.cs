using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace PubSubGateway.Tests.Infrastructure;

/// <summary>A gateway node on real Kestrel bound to 127.0.0.1 on a free port, hosted in the test process.</summary>
public sealed partial class GatewayNode : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayNode(WebApplication app, string nodeId)
    {
        _app = app;
        NodeId = nodeId;
        BaseUrl = app.Urls.First();
        Http = new HttpClient { BaseAddress = new Uri(BaseUrl) };
    }

    public string NodeId { get; }

    public string BaseUrl { get; }

    public Uri WebSocketUri => new(BaseUrl.Replace("http://", "ws://", StringComparison.Ordinal) + "/ws");

    public HttpClient Http { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>Name of this node's connection as nats-server reports it.</summary>
    public string NatsConnectionName => $"pubsub-gateway {NodeId}";

    public static Task<GatewayNode> StartAsync(string? natsUrl, params string[] settings) => StartAsync(natsUrl, null, settings);

    /// <summary>Starts a node; <paramref name="logs"/>, when given, receives the node's log output too.</summary>
    public static async Task<GatewayNode> StartAsync(string? natsUrl, Microsoft.Extensions.Logging.ILoggerProvider? logs, params string[] settings)
    {
        var nodeId = "node-" + Guid.NewGuid().ToString("N")[..8];
        var args = new List<string> { "--urls", "http://127.0.0.1:0", "--Gateway:NodeId", nodeId, "--Logging:LogLevel:Default", "Warning" };
        if (natsUrl is not null)
        {
            args.AddRange(["--Nats:Url", natsUrl]);
        }

        args.AddRange(settings);
        var app = GatewayApp.Create([.. args], logs is null ? null : builder => builder.Logging.AddProvider(logs));
        await app.StartAsync();
        return new GatewayNode(app, nodeId);
    }

    public Task<TestClient> ConnectAsync() => TestClient.ConnectAsync(WebSocketUri);

    public async Task<HttpResponseMessage> PublishAsync(string topic, string json) =>
        await Http.PostAsync($"/api/v1/publish/{topic}", new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>Reads one sample from this node's /metrics (sum over label sets matching <paramref name="labels"/>).</summary>
    public async Task<double> MetricAsync(string name, string? labels = null)
    {
        var text = await Http.GetStringAsync("/metrics");
        double sum = 0;
        foreach (Match match in MetricLine().Matches(text))
        {
            if (match.Groups["name"].Value == name && (labels is null || match.Groups["labels"].Value.Contains(labels, StringComparison.Ordinal)))
            {
                sum += double.Parse(match.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return sum;
    }

    public T Get<T>() where T : notnull => _app.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{(?<labels>[^}]*)\})? (?<value>\S+)$", RegexOptions.Multiline)]
    private static partial Regex MetricLine();
}
