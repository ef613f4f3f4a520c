using PubSubGateway.ControlPlane.Tests.Infrastructure;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.ControlPlane.Tests.Functional;

[Collection(NatsCollection.Name)]
public sealed class RoutingTests(NatsFixture nats)
{
    [Fact]
    public async Task Router_spreads_300_clients_within_10_percent_over_3_nodes()
    {
        var bucket = ClusterSettings.NewBucket();
        await using var a = await GatewayNode.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket));
        await using var b = await GatewayNode.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket));
        await using var c = await GatewayNode.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket));
        await using var cp = await ControlPlaneHost.StartAsync(nats.Server.Url, bucket);
        await cp.WaitForNodesAsync([a.NodeId, b.NodeId, c.NodeId]);

        var clients = await Clients.ConnectAsync(cp.RouterWebSocketUri, NatsFixture.UniqueTopic(), 300, parallel: 20);
        try
        {
            var counts = Clients.CountByNode(clients);
            Assert.Equal(3, counts.Count);
            Assert.All(counts.Values, n => Assert.InRange(n, 90, 110));

            // The nodes agree with what the clients saw.
            foreach (var node in new[] { a, b, c })
            {
                Assert.Equal(counts[node.NodeId], await node.MetricAsync("gateway_connections"));
            }

            var metrics = await cp.Http.GetStringAsync("/metrics");
            Assert.Contains($"controlplane_router_requests_total{{destination=\"{a.NodeId}\",kind=\"websocket\"}}", metrics);
        }
        finally
        {
            await Clients.DisposeAllAsync(clients);
        }
    }

    [Fact]
    public async Task Router_forwards_http_publish_and_reports_nodes_in_metrics()
    {
        var bucket = ClusterSettings.NewBucket();
        await using var a = await GatewayNode.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket));
        await using var cp = await ControlPlaneHost.StartAsync(nats.Server.Url, bucket);
        await cp.WaitForNodesAsync([a.NodeId]);
        var topic = NatsFixture.UniqueTopic();
        await using var subscriber = await TestClient.ConnectAsync(cp.RouterWebSocketUri);
        await subscriber.SubscribeAsync(topic);

        using var anonymous = new HttpClient { BaseAddress = new Uri(cp.BaseUrl) };
        var response = await anonymous.PostAsync($"/api/v1/publish/{topic}", new StringContent("""{"n":1}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        Assert.Equal("""{"n":1}""", (await subscriber.NextMessageAsync()).GetProperty("data").GetRawText());
        await WaitFor.ConditionAsync(async () => (await cp.Http.GetStringAsync("/metrics")).Contains($"controlplane_node_connections{{node=\"{a.NodeId}\",state=\"active\"}} 1"), because: "per-node connection gauge");
        var metrics = await cp.Http.GetStringAsync("/metrics");
        Assert.Contains("controlplane_nodes{state=\"active\"} 1", metrics);
        Assert.Contains("controlplane_connections 1", metrics);
    }
}
