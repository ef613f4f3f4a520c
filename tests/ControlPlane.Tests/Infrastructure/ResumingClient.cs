using System.Text.Json;

namespace PubSubGateway.ControlPlane.Tests.Infrastructure;

/// <summary>
/// A client of a durable topic that does what the protocol promises is enough: it remembers the
/// last <c>seq</c> it received and, whenever it is moved (a <c>reconnect</c> frame) or its node
/// vanishes, reconnects (see <see cref="RouterClient"/>) and subscribes with <c>since</c>. It
/// records the publisher's numbers in arrival order so a test can count lost and duplicated messages.
/// </summary>
public sealed class ResumingClient : RouterClient
{
    private readonly List<int> _received = [];
    private ulong _lastSeq;

    private ResumingClient(Uri uri, string topic)
        : base(uri, topic)
    {
    }

    /// <summary>Cursors announced in reconnect frames that differed from the last seq received (must stay 0).</summary>
    public int CursorMismatches { get; private set; }

    public IReadOnlyList<int> Received
    {
        get
        {
            lock (_received)
            {
                return [.. _received];
            }
        }
    }

    public int Count
    {
        get
        {
            lock (_received)
            {
                return _received.Count;
            }
        }
    }

    public static async Task<ResumingClient> ConnectAsync(Uri uri, string topic)
    {
        var client = new ResumingClient(uri, topic);
        await client.StartAsync();
        return client;
    }

    public static async Task<List<ResumingClient>> ConnectManyAsync(Uri uri, string topic, int count, int parallel = 10)
    {
        var clients = new List<ResumingClient>(count);
        for (var i = 0; i < count; i += parallel)
        {
            clients.AddRange(await Task.WhenAll(Enumerable.Range(0, Math.Min(parallel, count - i)).Select(_ => ConnectAsync(uri, topic))));
        }

        return clients;
    }

    /// <summary>Lost and duplicated numbers against 1..<paramref name="published"/>.</summary>
    public (int Lost, int Duplicated, bool InOrder) Check(int published)
    {
        var received = Received;
        var distinct = received.Distinct().Count();
        var lost = Enumerable.Range(1, published).Except(received).Count();
        var inOrder = received.Zip(received.Skip(1)).All(p => p.First < p.Second);
        return (lost, received.Count - distinct, inOrder);
    }

    protected override async Task SubscribeAsync(TestClient client)
    {
        var reply = await client.RequestAsync("sub", Topic, extra: _lastSeq > 0 ? $"\"since\":{_lastSeq}" : null);
        if (reply.GetProperty("op").GetString() != "ack")
        {
            throw new SubscribeRefusedException($"resume failed: {reply}");
        }
    }

    protected override void OnMessage(JsonElement frame)
    {
        var seq = frame.GetProperty("seq").GetUInt64();
        lock (_received)
        {
            _received.Add(frame.GetProperty("data").GetProperty("n").GetInt32());
        }

        _lastSeq = seq;
    }

    protected override void OnReconnectFrame(JsonElement frame, int afterMs)
    {
        if (frame.TryGetProperty("cursors", out var cursors) && cursors.TryGetProperty(Topic, out var cursor) && cursor.GetUInt64() != _lastSeq)
        {
            CursorMismatches++;
        }
    }
}
