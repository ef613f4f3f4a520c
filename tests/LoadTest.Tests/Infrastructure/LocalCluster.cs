using System.Net.Http.Headers;
using System.Text.Json;

namespace PubSubGateway.LoadTest.Tests.Infrastructure;

/// <summary>
/// What <c>loadtest/run-drain.sh</c> starts, in the test process and in seconds: nats-server with
/// JetStream, gateway nodes (heartbeats every 200 ms) and control-plane replicas whose admin API
/// needs <see cref="AdminToken"/>. Ready once every replica lists every node as active.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    public const string AdminToken = "loadtest-admin-token-0123";

    private readonly List<InProcessGateway> _nodes = [];
    private readonly List<InProcessControlPlane> _routers = [];

    private LocalCluster(LocalNatsServer nats) => Nats = nats;

    public LocalNatsServer Nats { get; }

    public IReadOnlyList<InProcessGateway> Nodes => _nodes;

    public IReadOnlyList<InProcessControlPlane> Routers => _routers;

    /// <summary>The routers' WebSocket URLs, comma-separated, as <c>LoadTest drain --url</c> takes them.</summary>
    public string RouterUrls => string.Join(",", _routers.Select(r => r.RouterWebSocketUrl));

    /// <param name="nodeSettings">Extra settings for every node, e.g. durable patterns and the drain window.</param>
    public static async Task<LocalCluster> StartAsync(int nodes, int routers, params string[] nodeSettings)
    {
        var cluster = new LocalCluster(await LocalNatsServer.StartAsync(jetStream: true));
        try
        {
            for (var i = 0; i < nodes; i++)
            {
                cluster._nodes.Add(await InProcessGateway.StartAsync(cluster.Nats.Url, [
                    "--Gateway:Cluster:HeartbeatIntervalMs", "200", "--Gateway:Cluster:NodeTtlMs", "1500", .. nodeSettings]));
            }

            for (var i = 0; i < routers; i++)
            {
                cluster._routers.Add(await InProcessControlPlane.StartAsync(cluster.Nats.Url, "--ControlPlane:NodeTtlMs", "1500", "--ControlPlane:AdminToken", AdminToken));
            }

            await cluster.WaitUntilEveryRouterListsEveryNodeAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var router in _routers)
        {
            await router.DisposeAsync();
        }

        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }

        await Nats.DisposeAsync();
    }

    private async Task WaitUntilEveryRouterListsEveryNodeAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AdminToken);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        foreach (var node in _nodes)
        {
            // Ready = NATS connected and the durable stream exists.
            while (!(await http.GetAsync(node.BaseUrl + "/healthz/ready")).IsSuccessStatusCode)
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"gateway {node.BaseUrl} not ready within 30 s");
                }

                await Task.Delay(100);
            }
        }

        foreach (var router in _routers)
        {
            while (true)
            {
                try
                {
                    using var doc = JsonDocument.Parse(await http.GetStringAsync(router.BaseUrl + "/api/v1/nodes"));
                    if (doc.RootElement.GetProperty("nodes").EnumerateArray().Count(n => n.GetProperty("state").GetString() == "active") == _nodes.Count)
                    {
                        break;
                    }
                }
                catch (HttpRequestException) when (DateTime.UtcNow < deadline)
                {
                }

                if (DateTime.UtcNow > deadline)
                {
                    throw new TimeoutException($"router {router.BaseUrl} did not list {_nodes.Count} active nodes within 30 s");
                }

                await Task.Delay(100);
            }
        }
    }
}
