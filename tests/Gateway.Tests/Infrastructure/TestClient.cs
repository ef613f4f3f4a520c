using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace PubSubGateway.Tests.Infrastructure;

/// <summary>
/// A real WebSocket client speaking protocol v1. A background loop reads every frame into a
/// channel (unless <see cref="StartPaused"/>), so tests await the frames they expect.
/// </summary>
public sealed class TestClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private readonly Channel<JsonElement> _frames = Channel.CreateUnbounded<JsonElement>();
    private readonly List<JsonElement> _skipped = [];
    private readonly TaskCompletionSource _readGate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _reader;
    private int _nextId;

    private TestClient(ClientWebSocket socket) => Socket = socket;

    public ClientWebSocket Socket { get; }

    public JsonElement Hello { get; private set; }

    /// <summary>Close status the server sent, once the connection is closed.</summary>
    public WebSocketCloseStatus? CloseStatus => Socket.CloseStatus;

    /// <summary>Why the read loop ended without a close frame, if it did.</summary>
    public Exception? ReadError { get; private set; }

    public Task Closed => _reader ?? Task.CompletedTask;

    /// <param name="socketReceiveBuffer">SO_RCVBUF for the TCP socket; small values make a paused client back up quickly.</param>
    public static async Task<TestClient> ConnectAsync(Uri uri, bool paused = false, int? socketReceiveBuffer = null)
    {
        var socket = new ClientWebSocket();
        socket.Options.AddSubProtocol("pubsub.v1.json");
        if (socketReceiveBuffer is { } size)
        {
            using var handler = new SocketsHttpHandler
            {
                ConnectCallback = async (context, cancellationToken) =>
                {
                    var tcp = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { ReceiveBufferSize = size };
                    await tcp.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new System.Net.Sockets.NetworkStream(tcp, ownsSocket: true);
                },
            };
            await socket.ConnectAsync(uri, new HttpMessageInvoker(handler, disposeHandler: false), CancellationToken.None);
        }
        else
        {
            await socket.ConnectAsync(uri, CancellationToken.None);
        }

        var client = new TestClient(socket);
        client._reader = client.ReadLoopAsync();
        if (!paused)
        {
            client._readGate.TrySetResult();
            client.Hello = await client.NextAsync();
        }

        return client;
    }

    /// <summary>Starts reading after a client was connected with <c>paused: true</c> (a consumer that stopped reading).</summary>
    public void ResumeReading() => _readGate.TrySetResult();

    public Task SendRawAsync(string text) => SendRawAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text);

    public async Task SendRawAsync(byte[] bytes, WebSocketMessageType type, bool endOfMessage = true) =>
        await Socket.SendAsync(bytes, type, endOfMessage, CancellationToken.None);

    public async Task<JsonElement> RequestAsync(string op, string? topic = null, string? data = null, string? extra = null)
    {
        var id = "r" + Interlocked.Increment(ref _nextId);
        var json = new StringBuilder($"{{\"op\":\"{op}\",\"id\":\"{id}\"");
        if (topic is not null)
        {
            json.Append($",\"topic\":{JsonSerializer.Serialize(topic)}");
        }

        if (data is not null)
        {
            json.Append($",\"data\":{data}");
        }

        if (extra is not null)
        {
            json.Append(',').Append(extra);
        }

        json.Append('}');
        await SendRawAsync(json.ToString());
        return await NextAsync(f => f.TryGetProperty("id", out var fid) && fid.GetString() == id);
    }

    public async Task SubscribeAsync(string topic)
    {
        var reply = await RequestAsync("sub", topic);
        if (reply.GetProperty("op").GetString() != "ack")
        {
            throw new InvalidOperationException($"sub {topic} failed: {reply}");
        }
    }

    /// <summary>
    /// Next frame (optionally the next one matching <paramref name="match"/>). Frames skipped while
    /// looking for a match are kept, in order, for later calls.
    /// </summary>
    public async Task<JsonElement> NextAsync(Func<JsonElement, bool>? match = null, TimeSpan? timeout = null)
    {
        lock (_skipped)
        {
            var index = _skipped.FindIndex(f => match is null || match(f));
            if (index >= 0)
            {
                var found = _skipped[index];
                _skipped.RemoveAt(index);
                return found;
            }
        }

        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            var frame = await _frames.Reader.ReadAsync(cts.Token);
            if (match is null || match(frame))
            {
                return frame;
            }

            lock (_skipped)
            {
                _skipped.Add(frame);
            }
        }
    }

    public async Task<JsonElement> NextMessageAsync(TimeSpan? timeout = null) =>
        await NextAsync(f => f.GetProperty("op").GetString() == "msg", timeout);

    /// <summary>True if no frame arrives within <paramref name="wait"/>.</summary>
    public async Task<bool> StaysQuietAsync(TimeSpan wait)
    {
        lock (_skipped)
        {
            if (_skipped.Count > 0)
            {
                return false;
            }
        }

        using var cts = new CancellationTokenSource(wait);
        try
        {
            await _frames.Reader.ReadAsync(cts.Token);
            return false;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    public async Task CloseAsync()
    {
        if (Socket.State == WebSocketState.Open)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", cts.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await CloseAsync();
        Socket.Abort();
        _readGate.TrySetResult();
        if (_reader is not null)
        {
            await _reader;
        }

        Socket.Dispose();
    }

    private async Task ReadLoopAsync()
    {
        await _readGate.Task;
        var buffer = new byte[256 * 1024];
        try
        {
            while (true)
            {
                var length = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (length == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }

                    result = await Socket.ReceiveAsync(buffer.AsMemory(length), CancellationToken.None);
                    length += result.Count;
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    // Answer the close handshake as browsers do.
                    if (Socket.State == WebSocketState.CloseReceived)
                    {
                        await Socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
                    }

                    return;
                }

                using var doc = JsonDocument.Parse(buffer.AsMemory(0, length));
                _frames.Writer.TryWrite(doc.RootElement.Clone());
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            ReadError = ex;
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
    }
}
