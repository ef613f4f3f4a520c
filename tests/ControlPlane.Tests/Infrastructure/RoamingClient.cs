using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;

namespace PubSubGateway.ControlPlane.Tests.Infrastructure;

/// <summary>
/// A plain subscriber that follows the protocol's moves (see <see cref="RouterClient"/>). Records
/// which node it was on and when it moved.
/// </summary>
public sealed class RoamingClient : RouterClient
{
    private long _messages;

    private RoamingClient(Uri router, string topic)
        : base(router, topic)
    {
    }

    public static readonly Stopwatch Clock = Stopwatch.StartNew();

    /// <summary>Every node the client connected to, with the time the subscription was acknowledged.</summary>
    public ConcurrentQueue<(string Node, TimeSpan At)> Connections { get; } = new();

    /// <summary>Reasons of the <c>reconnect</c> frames received.</summary>
    public ConcurrentQueue<(string Reason, int AfterMs, TimeSpan At)> ReconnectFrames { get; } = new();

    public long Messages => Interlocked.Read(ref _messages);

    public static async Task<RoamingClient> ConnectAsync(Uri router, string topic)
    {
        var client = new RoamingClient(router, topic);
        await client.StartAsync();
        return client;
    }

    protected override Task SubscribeAsync(TestClient client) => client.SubscribeAsync(Topic);

    protected override void OnSubscribed(string node) => Connections.Enqueue((node, Clock.Elapsed));

    protected override void OnMessage(JsonElement frame) => Interlocked.Increment(ref _messages);

    protected override void OnReconnectFrame(JsonElement frame, int afterMs) =>
        ReconnectFrames.Enqueue((frame.GetProperty("reason").GetString()!, afterMs, Clock.Elapsed));
}
