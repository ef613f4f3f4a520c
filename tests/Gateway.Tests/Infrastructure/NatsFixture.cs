namespace PubSubGateway.Tests.Infrastructure;

/// <summary>One nats-server shared by a test collection; each test uses topics of its own.</summary>
public sealed class NatsFixture : IAsyncLifetime
{
    public NatsServer Server { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Server = await NatsServer.StartAsync();

    public async ValueTask DisposeAsync() => await Server.DisposeAsync();

    public static string UniqueTopic(string prefix = "t") => $"{prefix}.{Guid.NewGuid():N}";
}

[CollectionDefinition(Name)]
public sealed class NatsCollection : ICollectionFixture<NatsFixture>
{
    public const string Name = "nats";
}

/// <summary>Which bus a behaviour test runs against: the same assertions must hold for both.</summary>
public static class Buses
{
    public const string Nats = "nats";
    public const string InProcess = "in-process";

    public static TheoryData<string> All => new() { Nats, InProcess };

    public static Task<GatewayNode> StartNodeAsync(string bus, NatsFixture nats, params string[] settings) =>
        GatewayNode.StartAsync(bus == Nats ? nats.Server.Url : null, settings);
}
