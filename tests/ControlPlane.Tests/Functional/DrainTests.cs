using System.Net;
using PubSubGateway.ControlPlane.Tests.Infrastructure;

namespace PubSubGateway.ControlPlane.Tests.Functional;

[Collection(NatsCollection.Name)]
public sealed class DrainTests(NatsFixture nats)
{
    [Fact]
    public async Task Drain_moves_every_client_paced_over_the_window_and_none_back_to_the_draining_node()
    {
        const int windowMs = 4_000;
        var bucket = ClusterSettings.NewBucket();
        await using var a = await GatewayNode.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket));
        await using var b = await GatewayNode.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket));
        await using var c = await GatewayNode.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket));
        await using var cp = await ControlPlaneHost.StartAsync(nats.Server.Url, bucket);
        await cp.WaitForNodesAsync([a.NodeId, b.NodeId, c.NodeId]);
        var topic = NatsFixture.UniqueTopic("drain");
        var clients = await Clients.ConnectAsync(cp.RouterWebSocketUri, topic, 90);
        await using var publisher = new Publisher(nats.Server.Url, topic, perSecond: 50);
        try
        {
            var onA = clients.Where(x => x.Node == a.NodeId).ToList();
            Assert.InRange(onA.Count, 20, 40);
            await WaitFor.ConditionAsync(() => Task.FromResult(clients.All(x => x.Messages > 0)), because: "every client receives the backend's messages");

            var started = RoamingClient.Clock.Elapsed;
            var response = await cp.PostAsync($"/api/v1/nodes/{a.NodeId}/drain", $$"""{"deadline_ms":{{windowMs}}}""");
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, (await a.Http.GetAsync("/healthz/ready")).StatusCode);

            // Within the window (plus the close handshakes) every client of A moved, and resubscribed elsewhere.
            await WaitFor.ConditionAsync(() => Task.FromResult(onA.All(x => x.Node is not null && x.Node != a.NodeId)), TimeSpan.FromMilliseconds(windowMs + 3_000), "A's clients moved");
            var counts = onA.Select(x => x.Messages).ToList();
            await WaitFor.ConditionAsync(() => Task.FromResult(onA.Select((x, i) => x.Messages > counts[i]).All(moved => moved)), because: "moved clients receive messages on their new node");
            Assert.Equal("drained", await WaitForStateAsync(cp, a.NodeId, "drained"));
            Assert.Equal(0, await a.MetricAsync("gateway_connections"));

            // Every client of A got reconnect(drain) exactly once; no client went to A after the drain started.
            Assert.All(onA, x => Assert.Equal("drain", Assert.Single(x.ReconnectFrames).Reason));
            Assert.DoesNotContain(clients.SelectMany(x => x.Connections), conn => conn.Node == a.NodeId && conn.At > started);
            Assert.All(clients.Except(onA), x => Assert.Empty(x.ReconnectFrames));

            // Paced: spread over the window, not a storm. Ideal is ~1/4 of the clients per second
            // (80 % of a 4 s window); all at once would put every one in a single slice.
            var times = onA.Select(x => (x.ReconnectFrames.Single().At - started).TotalSeconds).ToList();
            var perSlice = times.GroupBy(t => (int)Math.Floor(t)).Select(g => g.Count()).ToList();
            Assert.True(perSlice.Max() <= onA.Count * 0.5, $"max {perSlice.Max()} of {onA.Count} reconnects in one second: [{string.Join(",", perSlice)}]");
            Assert.True(times.Max() - times.Min() >= windowMs / 1000.0 * 0.5, $"reconnects spanned only {times.Max() - times.Min():F2} s");
            Assert.True(times.Max() <= windowMs / 1000.0 + 0.5, $"last reconnect at {times.Max():F2} s");

            var metrics = await cp.Http.GetStringAsync("/metrics");
            Assert.Contains("controlplane_drains_total 1", metrics);
            Assert.Contains("controlplane_nodes{state=\"drained\"} 1", metrics);
        }
        finally
        {
            await Clients.DisposeAllAsync(clients);
        }
    }

    [Fact]
    public async Task Undrain_makes_a_drained_node_routable_again()
    {
        var bucket = ClusterSettings.NewBucket();
        await using var a = await GatewayNode.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket));
        await using var cp = await ControlPlaneHost.StartAsync(nats.Server.Url, bucket);
        await cp.WaitForNodesAsync([a.NodeId]);

        Assert.Equal(HttpStatusCode.Accepted, (await cp.PostAsync($"/api/v1/nodes/{a.NodeId}/drain", """{"deadline_ms":500}""")).StatusCode);
        await WaitForStateAsync(cp, a.NodeId, "drained");
        using var refused = new HttpClient();
        await WaitFor.ConditionAsync(async () => (await refused.GetAsync(cp.BaseUrl + "/api/v1/publish/x")).StatusCode == HttpStatusCode.ServiceUnavailable, because: "router has no destination while the only node is drained");

        Assert.Equal(HttpStatusCode.Accepted, (await cp.PostAsync($"/api/v1/nodes/{a.NodeId}/undrain")).StatusCode);
        await WaitForStateAsync(cp, a.NodeId, "active");
        Assert.Equal(HttpStatusCode.OK, (await a.Http.GetAsync("/healthz/ready")).StatusCode);
        await WaitFor.ConditionAsync(async () =>
        {
            try
            {
                await using var client = await TestClient.ConnectAsync(cp.RouterWebSocketUri);
                return client.Hello.GetProperty("node").GetString() == a.NodeId;
            }
            catch (System.Net.WebSockets.WebSocketException)
            {
                return false;
            }
        }, because: "router sends clients to the undrained node");
    }

    [Fact]
    public async Task Stopping_a_node_drains_its_clients_with_reconnect_and_1001_first()
    {
        var bucket = ClusterSettings.NewBucket();
        var a = await GatewayNode.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket, "--Gateway:Drain:WindowMs", "1000"));
        await using var cp = await ControlPlaneHost.StartAsync(nats.Server.Url, bucket);
        await cp.WaitForNodesAsync([a.NodeId]);
        var clients = new List<TestClient>();
        for (var i = 0; i < 10; i++)
        {
            clients.Add(await a.ConnectAsync());
        }

        await a.DisposeAsync(); // what SIGTERM does: the host stops

        foreach (var client in clients)
        {
            var frame = await client.NextAsync();
            Assert.Equal("reconnect", frame.GetProperty("op").GetString());
            Assert.Equal("shutdown", frame.GetProperty("reason").GetString());
            await client.Closed;
            Assert.Equal(System.Net.WebSockets.WebSocketCloseStatus.EndpointUnavailable, client.CloseStatus);
            await client.DisposeAsync();
        }

        // The node removed its own entry: it is gone at once, not after the TTL.
        await cp.WaitForNodesAsync([]);
    }

    internal static async Task<string> WaitForStateAsync(ControlPlaneHost cp, string nodeId, string state)
    {
        await WaitFor.ConditionAsync(async () => await cp.StateOfAsync(nodeId) == state, because: $"{nodeId} reports {state}");
        return state;
    }
}
