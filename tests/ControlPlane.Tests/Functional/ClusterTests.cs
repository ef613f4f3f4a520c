using System.Diagnostics;
using System.Net;
using PubSubGateway.ControlPlane.Tests.Infrastructure;

namespace PubSubGateway.ControlPlane.Tests.Functional;

[Collection(NatsCollection.Name)]
public sealed class ClusterTests(NatsFixture nats)
{
    [Fact]
    public async Task Rebalance_after_scale_out_evens_300_clients_within_15_percent()
    {
        var bucket = ClusterSettings.NewBucket();
        var settings = ClusterSettings.Node(bucket, "--Gateway:Drain:ShedWindowMs", "2000");
        await using var a = await GatewayNode.StartAsync(nats.Server.Url, settings);
        await using var b = await GatewayNode.StartAsync(nats.Server.Url, settings);
        await using var cp = await ControlPlaneHost.StartAsync(nats.Server.Url, bucket, "--ControlPlane:Rebalance:ShedWindowMs", "2000");
        await cp.WaitForNodesAsync([a.NodeId, b.NodeId]);
        var clients = await Clients.ConnectAsync(cp.RouterWebSocketUri, NatsFixture.UniqueTopic(), 300, parallel: 20);
        try
        {
            Assert.All(Clients.CountByNode(clients).Values, n => Assert.InRange(n, 135, 165));

            await using var c = await GatewayNode.StartAsync(nats.Server.Url, settings);
            await cp.WaitForNodesAsync([a.NodeId, b.NodeId, c.NodeId]);
            await WaitFor.ConditionAsync(async () => (await cp.NodesAsync()).Sum(n => n.GetProperty("connections").GetInt32()) == 300, because: "heartbeats report all 300 clients");
            var response = await cp.PostAsync("/api/v1/rebalance");
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

            await WaitFor.ConditionAsync(() =>
            {
                var counts = Clients.CountByNode(clients);
                return Task.FromResult(counts.Values.Sum() == 300 && counts.Count == 3 && counts.Values.All(n => n is >= 85 and <= 115));
            }, TimeSpan.FromSeconds(10), "all three nodes within 15 % of 100");
            Assert.All(clients.SelectMany(x => x.ReconnectFrames), f => Assert.Equal("rebalance", f.Reason));
            Assert.InRange(clients.Count(x => !x.ReconnectFrames.IsEmpty), 85, 130);
            Assert.Contains("controlplane_rebalances_total 1", await cp.Http.GetStringAsync("/metrics"));
        }
        finally
        {
            await Clients.DisposeAllAsync(clients);
        }
    }

    [Fact]
    public async Task With_OnJoin_a_joining_node_triggers_one_rebalance_across_two_replicas()
    {
        var bucket = ClusterSettings.NewBucket();
        var settings = ClusterSettings.Node(bucket, "--Gateway:Drain:ShedWindowMs", "2000");
        string[] cpSettings =
        [
            "--ControlPlane:Rebalance:ShedWindowMs", "2000", "--ControlPlane:Rebalance:OnJoin", "true",
            "--ControlPlane:Rebalance:JoinDelayMs", "1500", "--ControlPlane:Rebalance:ClaimBucket", "claims-" + bucket,
        ];
        await using var a = await GatewayNode.StartAsync(nats.Server.Url, settings);
        await using var b = await GatewayNode.StartAsync(nats.Server.Url, settings);
        await using var cp1 = await ControlPlaneHost.StartAsync(nats.Server.Url, bucket, cpSettings);
        await using var cp2 = await ControlPlaneHost.StartAsync(nats.Server.Url, bucket, cpSettings);
        await cp1.WaitForNodesAsync([a.NodeId, b.NodeId]);
        await cp2.WaitForNodesAsync([a.NodeId, b.NodeId]);
        var clients = await Clients.ConnectAsync(cp1.RouterWebSocketUri, NatsFixture.UniqueTopic(), 300, parallel: 20);
        try
        {
            await WaitFor.ConditionAsync(async () => (await cp1.NodesAsync()).Sum(n => n.GetProperty("connections").GetInt32()) == 300, because: "heartbeats report all 300 clients");

            await using var c = await GatewayNode.StartAsync(nats.Server.Url, settings);

            await WaitFor.ConditionAsync(() =>
            {
                var counts = Clients.CountByNode(clients);
                return Task.FromResult(counts.Values.Sum() == 300 && counts.Count == 3 && counts.Values.All(n => n is >= 85 and <= 115));
            }, TimeSpan.FromSeconds(15), "all three nodes within 15 % of 100 without an admin call");
            await Task.Delay(2000);
            var rebalances = await RebalancesAsync(cp1) + await RebalancesAsync(cp2);
            Assert.Equal(1, rebalances);
            Assert.InRange(clients.Count(x => !x.ReconnectFrames.IsEmpty), 85, 130);
        }
        finally
        {
            await Clients.DisposeAllAsync(clients);
        }
    }

    private static async Task<int> RebalancesAsync(ControlPlaneHost cp)
    {
        var line = (await cp.Http.GetStringAsync("/metrics")).Split('\n').Single(l => l.StartsWith("controlplane_rebalances_total ", StringComparison.Ordinal));
        return (int)double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task Killed_node_leaves_the_registry_within_the_ttl_and_its_clients_move()
    {
        var bucket = ClusterSettings.NewBucket();
        await using var survivor = await GatewayNode.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket));
        await using var victim = await GatewayProcess.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket));
        await using var cp = await ControlPlaneHost.StartAsync(nats.Server.Url, bucket);
        await cp.WaitForNodesAsync([survivor.NodeId, victim.NodeId]);
        var clients = await Clients.ConnectAsync(cp.RouterWebSocketUri, NatsFixture.UniqueTopic(), 40);
        try
        {
            Assert.InRange(clients.Count(x => x.Node == victim.NodeId), 15, 25);

            await victim.KillAsync();
            var killed = Stopwatch.StartNew();
            await cp.WaitForNodesAsync([survivor.NodeId]);
            Assert.True(killed.ElapsedMilliseconds <= 1_500 + 500, $"left the registry after {killed.ElapsedMilliseconds} ms (TTL 1500 ms)");

            await WaitFor.ConditionAsync(() => Task.FromResult(clients.All(x => x.Node == survivor.NodeId)), because: "the killed node's clients reconnected to the survivor");
            for (var i = 0; i < 5; i++)
            {
                await using var fresh = await TestClient.ConnectAsync(cp.RouterWebSocketUri);
                Assert.Equal(survivor.NodeId, fresh.Hello.GetProperty("node").GetString());
            }
        }
        finally
        {
            await Clients.DisposeAllAsync(clients);
        }
    }

    [Fact]
    public async Task Second_replica_keeps_routing_and_answering_when_the_first_stops()
    {
        var bucket = ClusterSettings.NewBucket();
        await using var a = await GatewayNode.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket));
        await using var b = await GatewayNode.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket));
        await using var first = await ControlPlaneHost.StartAsync(nats.Server.Url, bucket);
        await using var second = await ControlPlaneHost.StartAsync(nats.Server.Url, bucket);
        await first.WaitForNodesAsync([a.NodeId, b.NodeId]);
        await second.WaitForNodesAsync([a.NodeId, b.NodeId]);
        await using var viaFirst = await TestClient.ConnectAsync(first.RouterWebSocketUri);

        await first.StopAsync();

        await using var viaSecond = await TestClient.ConnectAsync(second.RouterWebSocketUri);
        Assert.Contains(viaSecond.Hello.GetProperty("node").GetString(), new[] { a.NodeId, b.NodeId });
        Assert.Equal(HttpStatusCode.Accepted, (await second.PostAsync($"/api/v1/nodes/{a.NodeId}/drain", """{"deadline_ms":500}""")).StatusCode);
        Assert.Equal("drained", await DrainTests.WaitForStateAsync(second, a.NodeId, "drained"));
        for (var i = 0; i < 5; i++)
        {
            await using var fresh = await TestClient.ConnectAsync(second.RouterWebSocketUri);
            Assert.Equal(b.NodeId, fresh.Hello.GetProperty("node").GetString());
        }
    }
}
