using System.Text.Json;
using System.Threading.Channels;

namespace PubSubGateway.ControlPlane.Tests.Infrastructure;

/// <summary>
/// A client that follows the protocol's moves: it connects (through the router), subscribes to one
/// topic, and on a <c>reconnect</c> frame waits <c>after_ms</c>, or on a dropped socket goes at
/// once, then connects and subscribes again. Subclasses decide how to subscribe and what to
/// record; <see cref="RoamingClient"/> and <see cref="ResumingClient"/> are the two in use.
/// </summary>
public abstract class RouterClient : IAsyncDisposable
{
    private readonly Uri _uri;
    private readonly CancellationTokenSource _stop = new();
    private TestClient _client = null!;
    private Task _loop = Task.CompletedTask;

    protected RouterClient(Uri uri, string topic)
    {
        _uri = uri;
        Topic = topic;
    }

    /// <summary>Node the client is connected (and subscribed) to now; null while it moves.</summary>
    public string? Node { get; private set; }

    /// <summary>Times the client left a node (reconnect frame or dropped socket).</summary>
    public int Moves { get; private set; }

    protected string Topic { get; }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _client.DisposeAsync();
        await _loop;

        // The loop may have connected again before it saw the cancellation.
        await _client.DisposeAsync();
        _stop.Dispose();
        GC.SuppressFinalize(this);
    }

    /// <summary>Connects and subscribes once, then follows moves in the background.</summary>
    protected async Task StartAsync()
    {
        await ConnectOnceAsync(CancellationToken.None);
        _loop = RunAsync();
    }

    /// <summary>Subscribes <paramref name="client"/> to <see cref="Topic"/>. Throw <see cref="SubscribeRefusedException"/> to stop retrying.</summary>
    protected abstract Task SubscribeAsync(TestClient client);

    /// <summary>Called with the node's name once a subscription is in place.</summary>
    protected virtual void OnSubscribed(string node)
    {
    }

    protected abstract void OnMessage(JsonElement frame);

    protected virtual void OnReconnectFrame(JsonElement frame, int afterMs)
    {
    }

    private async Task ConnectOnceAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var client = await TestClient.ConnectAsync(_uri);
                await SubscribeAsync(client);
                _client = client;
                Node = client.Hello.GetProperty("node").GetString();
                OnSubscribed(Node!);
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
                        OnMessage(frame);
                    }
                    else if (op == "reconnect")
                    {
                        afterMs = frame.GetProperty("after_ms").GetInt32();
                        OnReconnectFrame(frame, afterMs);
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

/// <summary>The node refused the subscription outright: retrying would not help.</summary>
public sealed class SubscribeRefusedException(string message) : Exception(message);
