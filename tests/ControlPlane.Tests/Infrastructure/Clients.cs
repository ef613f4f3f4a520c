namespace PubSubGateway.ControlPlane.Tests.Infrastructure;

internal static class Clients
{
    /// <summary>Connects <paramref name="count"/> roaming clients through the router, a few at a time.</summary>
    public static async Task<List<RoamingClient>> ConnectAsync(Uri router, string topic, int count, int parallel = 10)
    {
        var clients = new List<RoamingClient>(count);
        for (var i = 0; i < count; i += parallel)
        {
            var batch = await Task.WhenAll(Enumerable.Range(0, Math.Min(parallel, count - i)).Select(_ => RoamingClient.ConnectAsync(router, topic)));
            clients.AddRange(batch);
        }

        return clients;
    }

    public static Dictionary<string, int> CountByNode(IEnumerable<RoamingClient> clients) =>
        clients.Where(c => c.Node is not null).GroupBy(c => c.Node!).ToDictionary(g => g.Key, g => g.Count());

    public static async Task DisposeAllAsync(IEnumerable<RoamingClient> clients) =>
        await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
}
