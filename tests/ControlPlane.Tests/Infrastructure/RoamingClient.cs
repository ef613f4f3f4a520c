using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;

namespace PubSubGateway.ControlPlane.Tests.Infrastructure;

/// <summary>
/// A client that behaves as the protocol asks: connects through the router, subscribes to one topic,
/// and on <c>reconnect</c> (or a dropped socket) waits <c>after_ms</c>, reconnects through the
/// router and subscribes again. Records which node it was on and when it moved.
/// </summary>
public sealed class RoamingClient : IAsyncDisposable
{
    private readonly Uri _router;
    private readonly string _topic;
    private readonly CancellationTokenSource _stop = new();
    private TestClient _client = null!;
    private Task _loop = Task.CompletedTask;
    private long _messages;

    private RoamingClient(Uri router, string topic)
    {
        _router = router;
        _topic = topic;
    }

    /// <summary>Node the client is connected (and subscribed) to now; null while it moves.</summary>
    public string? Node { get; private set; }

    /// <summary>Every node the client connected to, with the time the subscription was acknowledged.</summary>
    public ConcurrentQueue<(string Node, TimeSpan At)> Connections { get; } = new();

    /// <summary>Reasons of the <c>reconnect</c> frames received.</summary>
    public ConcurrentQueue<(string Reason, int AfterMs, TimeSpan At)> ReconnectFrames { get; } = new();

    public long Messages => Interlocked.Read(ref _messages);

    public static readonly Stopwatch Clock = Stopwatch.StartNew();

    public static async Task<RoamingClient> ConnectAsync(Uri router, string topic)
    {
        var client = new RoamingClient(router, topic);
        await client.ConnectOnceAsync(CancellationToken.None);
        client._loop = client.RunAsync();
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _client.DisposeAsync();
        await _loop;
        await _client.DisposeAsync();
        _stop.Dispose();
    }

    private async Task ConnectOnceAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var client = await TestClient.ConnectAsync(_router);
                await client.SubscribeAsync(_topic);
                _client = client;
                Node = client.Hello.GetProperty("node").GetString();
                Connections.Enqueue((Node!, Clock.Elapsed));
                return;
            }
            catch (Exception ex) when (ex is System.Net.WebSockets.WebSocketException or InvalidOperationException or OperationCanceledException or ChannelClosedException)
            {
                // The router had no node for us, or we landed on a node that is going away: try again.
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
                        Interlocked.Increment(ref _messages);
                    }
                    else if (op == "reconnect")
                    {
                        afterMs = frame.GetProperty("after_ms").GetInt32();
                        ReconnectFrames.Enqueue((frame.GetProperty("reason").GetString()!, afterMs, Clock.Elapsed));
                        break;
                    }
                }
            }
            catch (ChannelClosedException)
            {
                // The node vanished without a reconnect frame (killed): reconnect at once.
            }

            if (_stop.IsCancellationRequested)
            {
                return;
            }

            Node = null;
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
