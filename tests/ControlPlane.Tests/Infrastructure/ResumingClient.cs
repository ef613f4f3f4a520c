using System.Text.Json;
using System.Threading.Channels;

namespace PubSubGateway.ControlPlane.Tests.Infrastructure;

/// <summary>
/// A client of a durable topic that does what the protocol promises is enough: it remembers the
/// last <c>seq</c> it received and, whenever it is moved (a <c>reconnect</c> frame) or its node
/// vanishes, reconnects (through the router) and subscribes with <c>since</c>. It records the
/// publisher's numbers in arrival order so a test can count lost and duplicated messages.
/// </summary>
public sealed class ResumingClient : IAsyncDisposable
{
    private readonly Uri _uri;
    private readonly string _topic;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<int> _received = [];
    private TestClient _client = null!;
    private Task _loop = Task.CompletedTask;
    private ulong _lastSeq;

    private ResumingClient(Uri uri, string topic)
    {
        _uri = uri;
        _topic = topic;
    }

    public string? Node { get; private set; }

    public int Moves { get; private set; }

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
        await client.ConnectOnceAsync(CancellationToken.None);
        client._loop = client.RunAsync();
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

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _client.DisposeAsync();
        await _loop;
        _stop.Dispose();
    }

    private async Task ConnectOnceAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var client = await TestClient.ConnectAsync(_uri);
                var reply = await client.RequestAsync("sub", _topic, extra: _lastSeq > 0 ? $"\"since\":{_lastSeq}" : null);
                if (reply.GetProperty("op").GetString() != "ack")
                {
                    throw new InvalidOperationException($"resume failed: {reply}");
                }

                _client = client;
                Node = client.Hello.GetProperty("node").GetString();
                return;
            }
            catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or OperationCanceledException or ChannelClosedException or InvalidOperationException)
            {
                if (ex is InvalidOperationException && ex.Message.StartsWith("resume failed", StringComparison.Ordinal))
                {
                    throw;
                }

                await Task.Delay(100, cancellationToken);
            }
        }
    }

    private async Task RunAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var afterMs = 0;
            try
            {
                while (true)
                {
                    var frame = await _client.NextAsync(timeout: TimeSpan.FromHours(1));
                    var op = frame.GetProperty("op").GetString();
                    if (op == "msg")
                    {
                        var seq = frame.GetProperty("seq").GetUInt64();
                        lock (_received)
                        {
                            _received.Add(frame.GetProperty("data").GetProperty("n").GetInt32());
                        }

                        _lastSeq = seq;
                    }
                    else if (op == "reconnect")
                    {
                        afterMs = frame.GetProperty("after_ms").GetInt32();
                        if (frame.TryGetProperty("cursors", out var cursors) && cursors.TryGetProperty(_topic, out var cursor) && cursor.GetUInt64() != _lastSeq)
                        {
                            CursorMismatches++;
                        }

                        break;
                    }
                }
            }
            catch (ChannelClosedException)
            {
                // The node vanished (killed): resume elsewhere at once.
            }

            if (_stop.IsCancellationRequested)
            {
                return;
            }

            Node = null;
            Moves++;
            await _client.DisposeAsync();
            try
            {
                await Task.Delay(afterMs, _stop.Token);
                await ConnectOnceAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
