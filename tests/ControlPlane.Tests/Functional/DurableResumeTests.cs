using System.Net;
using PubSubGateway.ControlPlane.Tests.Infrastructure;

namespace PubSubGateway.ControlPlane.Tests.Functional;

/// <summary>
/// The durable-topic guarantee on a real 3-server NATS cluster (stream replicas 3): clients moved by
/// a drain, a killed gateway node or a killed NATS server still receive every message exactly once,
/// in order. Messages are counted by the publisher's numbers (stream seqs have gaps per topic).
/// </summary>
public sealed class DurableResumeTests
{
    private const string Topic = "orders.eu";
    private const int Clients = 200;
    private const int Rate = 200;

    private static string[] NodeSettings(string bucket) => ClusterSettings.Node(bucket,
        "--Gateway:Durable:Patterns:0", "orders.>",
        "--Gateway:Durable:Replicas", "3",
        "--Gateway:Cluster:Replicas", "3",
        "--Gateway:Drain:MaxReconnectDelayMs", "200");

    [Fact]
    public async Task Drain_under_load_loses_and_duplicates_nothing()
    {
        await using var cluster = await NatsCluster.StartAsync();
        var bucket = ClusterSettings.NewBucket();
        await using var a = await GatewayNode.StartAsync(cluster.Url, NodeSettings(bucket));
        await using var b = await GatewayNode.StartAsync(cluster.Url, NodeSettings(bucket));
        await using var c = await GatewayNode.StartAsync(cluster.Url, NodeSettings(bucket));
        await using var cp = await ControlPlaneHost.StartAsync(cluster.Url, bucket);
        await cp.WaitForNodesAsync([a.NodeId, b.NodeId, c.NodeId]);
        var clients = await ResumingClient.ConnectManyAsync(cp.RouterWebSocketUri, Topic, Clients);
        try
        {
            var onA = clients.Where(x => x.Node == a.NodeId).ToList();
            Assert.NotEmpty(onA);
            await using var publisher = new DurablePublisher(cluster.Url, Topic, Rate);
            await WaitFor.ConditionAsync(() => Task.FromResult(clients.All(x => x.Count >= 100)), TimeSpan.FromSeconds(30), "every client receives before the drain");

            Assert.Equal(HttpStatusCode.Accepted, (await cp.PostAsync($"/api/v1/nodes/{a.NodeId}/drain", """{"deadline_ms":3000}""")).StatusCode);
            await WaitFor.ConditionAsync(async () => await cp.StateOfAsync(a.NodeId) == "drained", TimeSpan.FromSeconds(15), "node A drained");
            await Task.Delay(1000);
            var published = await publisher.StopAsync();

            await AssertEveryoneGotEverythingAsync(clients, published);
            Assert.All(onA, x => Assert.True(x.Moves >= 1 && x.Node != a.NodeId, "A's clients moved"));
            Assert.All(clients, x => Assert.Equal(0, x.CursorMismatches));
        }
        finally
        {
            await Task.WhenAll(clients.Select(x => x.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task Killing_a_gateway_node_under_load_loses_and_duplicates_nothing()
    {
        await using var cluster = await NatsCluster.StartAsync();
        var bucket = ClusterSettings.NewBucket();
        await using var victim = await GatewayProcess.StartAsync(cluster.Url, NodeSettings(bucket));
        await using var b = await GatewayNode.StartAsync(cluster.Url, NodeSettings(bucket));
        await using var cp = await ControlPlaneHost.StartAsync(cluster.Url, bucket);
        await cp.WaitForNodesAsync([victim.NodeId, b.NodeId]);
        var clients = await ResumingClient.ConnectManyAsync(cp.RouterWebSocketUri, Topic, Clients);
        try
        {
            var onVictim = clients.Where(x => x.Node == victim.NodeId).ToList();
            Assert.NotEmpty(onVictim);
            await using var publisher = new DurablePublisher(cluster.Url, Topic, Rate);
            await WaitFor.ConditionAsync(() => Task.FromResult(clients.All(x => x.Count >= 100)), TimeSpan.FromSeconds(30), "every client receives before the kill");

            await victim.KillAsync();
            await WaitFor.ConditionAsync(() => Task.FromResult(onVictim.All(x => x.Node == b.NodeId)), TimeSpan.FromSeconds(30), "the killed node's clients resumed on the survivor");
            await Task.Delay(1000);
            var published = await publisher.StopAsync();

            await AssertEveryoneGotEverythingAsync(clients, published);
        }
        finally
        {
            await Task.WhenAll(clients.Select(x => x.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task Killing_one_NATS_server_of_three_under_load_loses_nothing()
    {
        await using var cluster = await NatsCluster.StartAsync();
        var bucket = ClusterSettings.NewBucket();
        await using var a = await GatewayNode.StartAsync(cluster.Url, NodeSettings(bucket));
        await using var b = await GatewayNode.StartAsync(cluster.Url, NodeSettings(bucket));
        var clients = new List<ResumingClient>();
        try
        {
            clients.AddRange(await ResumingClient.ConnectManyAsync(a.WebSocketUri, Topic, Clients / 2));
            clients.AddRange(await ResumingClient.ConnectManyAsync(b.WebSocketUri, Topic, Clients / 2));
            await using var publisher = new DurablePublisher(cluster.Url, Topic, Rate);
            await WaitFor.ConditionAsync(() => Task.FromResult(clients.All(x => x.Count >= 100)), TimeSpan.FromSeconds(30), "every client receives before the kill");

            await cluster.KillAsync(0);
            var before = publisher.Published;
            await WaitFor.ConditionAsync(() => Task.FromResult(publisher.Published >= before + 3 * Rate), TimeSpan.FromSeconds(30), "publishing goes on after the kill");
            var published = await publisher.StopAsync();

            await AssertEveryoneGotEverythingAsync(clients, published);
        }
        finally
        {
            await Task.WhenAll(clients.Select(x => x.DisposeAsync().AsTask()));
        }
    }

    private static async Task AssertEveryoneGotEverythingAsync(List<ResumingClient> clients, int published)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!clients.All(x => x.Received.Contains(published)))
        {
            if (DateTime.UtcNow > deadline)
            {
                var behind = clients.Where(x => !x.Received.Contains(published)).ToList();
                var detail = string.Join("; ", behind.GroupBy(x => x.Node ?? "(moving)")
                    .Select(g => $"{g.Key}: {g.Count()} clients, last n {string.Join(",", g.Select(x => x.Received.Count == 0 ? 0 : x.Received[^1]).Distinct().Take(5))}"));
                Assert.Fail($"{behind.Count} of {clients.Count} clients never received message {published}: {detail}");
            }

            await Task.Delay(100);
        }

        await Task.Delay(300);
        var report = clients.Select(x => x.Check(published)).ToList();
        Assert.True(report.All(r => r.Lost == 0), $"lost: {report.Sum(r => r.Lost)} messages over {report.Count(r => r.Lost > 0)} clients");
        Assert.True(report.All(r => r.Duplicated == 0), $"duplicated: {report.Sum(r => r.Duplicated)}");
        Assert.True(report.All(r => r.InOrder), "out of order");
    }
}
