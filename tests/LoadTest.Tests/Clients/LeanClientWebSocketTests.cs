using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using PubSubGateway.LoadTest.Clients;

namespace PubSubGateway.LoadTest.Tests.Clients;

/// <summary>
/// The load tool's client WebSocket against .NET's own server-side WebSocket over a real loopback
/// TCP connection: every payload length encoding, fragments, pings, masking and both close orders.
/// </summary>
public sealed class LeanClientWebSocketTests
{
    [Fact]
    public async Task Reads_messages_of_every_length_encoding_and_fragmented_ones_in_order()
    {
        await using var pair = await SocketPair.OpenAsync(bufferSize: 4096);
        var small = Message('a', 100);
        var medium = Message('b', 300);
        var large = Message('c', 70_000);
        await pair.Server.SendAsync(small, WebSocketMessageType.Text, true, default);
        await pair.Server.SendAsync(medium, WebSocketMessageType.Binary, true, default);
        await pair.Server.SendAsync(large, WebSocketMessageType.Text, true, default);
        await pair.Server.SendAsync(Encoding.UTF8.GetBytes("frag"), WebSocketMessageType.Text, false, default);
        await pair.Server.SendAsync(Encoding.UTF8.GetBytes("ment"), WebSocketMessageType.Text, true, default);
        await pair.Server.SendAsync(Array.Empty<byte>(), WebSocketMessageType.Text, true, default);

        await AssertNextAsync(pair.Client, small, WebSocketMessageType.Text);
        await AssertNextAsync(pair.Client, medium, WebSocketMessageType.Binary);
        await AssertNextAsync(pair.Client, large, WebSocketMessageType.Text);
        await AssertNextAsync(pair.Client, Encoding.UTF8.GetBytes("fragment"), WebSocketMessageType.Text);
        await AssertNextAsync(pair.Client, [], WebSocketMessageType.Text);
    }

    [Fact]
    public async Task Sends_masked_frames_the_server_reads_back()
    {
        await using var pair = await SocketPair.OpenAsync(bufferSize: 4096);
        var payloads = new[] { Message('x', 10), Message('y', 1000), Message('z', 66_000) };
        foreach (var payload in payloads)
        {
            await pair.Client.SendAsync(payload, WebSocketMessageType.Text, true, default);
        }

        foreach (var payload in payloads)
        {
            await AssertNextAsync(pair.Server, payload, WebSocketMessageType.Text);
        }
    }

    [Fact]
    public async Task Answers_pings_so_a_server_with_a_keep_alive_timeout_keeps_the_connection()
    {
        // Timeout generous enough for a CI machine running three test assemblies at once: with 200 ms
        // a thread-pool stall there once aborted a connection whose client did answer.
        await using var pair = await SocketPair.OpenAsync(bufferSize: 4096, keepAlive: TimeSpan.FromMilliseconds(100));
        var serverRead = ReceiveMessageAsync(pair.Server);

        // The client answers pings while it reads, as every client of the tool does.
        var clientRead = pair.Client.ReceiveAsync(new byte[16].AsMemory(), default).AsTask();
        await Task.Delay(TimeSpan.FromSeconds(3));

        // A ping unanswered for 1 s would have aborted the server's socket by now (about 30 pings were due).
        Assert.Equal(WebSocketState.Open, pair.Server.State);
        Assert.False(serverRead.IsCompleted);
        Assert.False(clientRead.IsCompleted);
    }

    [Fact]
    public async Task Reports_the_server_close_and_completes_the_handshake()
    {
        await using var pair = await SocketPair.OpenAsync(bufferSize: 4096);
        await pair.Server.CloseOutputAsync((WebSocketCloseStatus)4008, "slow consumer", default);

        var result = await pair.Client.ReceiveAsync(new byte[16].AsMemory(), default);
        Assert.Equal(WebSocketMessageType.Close, result.MessageType);
        Assert.Equal((WebSocketCloseStatus)4008, pair.Client.CloseStatus);
        Assert.Equal("slow consumer", pair.Client.CloseStatusDescription);
        Assert.Equal(WebSocketState.CloseReceived, pair.Client.State);

        await pair.Client.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", default);
        Assert.Equal(WebSocketState.Closed, pair.Client.State);
        var serverSide = await pair.Server.ReceiveAsync(new byte[16].AsMemory(), default);
        Assert.Equal(WebSocketMessageType.Close, serverSide.MessageType);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, pair.Server.CloseStatus);
    }

    [Fact]
    public async Task Client_initiated_close_waits_for_the_server_answer()
    {
        await using var pair = await SocketPair.OpenAsync(bufferSize: 4096);
        var serverClose = Task.Run(async () =>
        {
            var r = await pair.Server.ReceiveAsync(new byte[16].AsMemory(), default);
            Assert.Equal(WebSocketMessageType.Close, r.MessageType);
            await pair.Server.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "ok", default);
        });

        await pair.Client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", default);
        await serverClose;
        Assert.Equal(WebSocketState.Closed, pair.Client.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, pair.Client.CloseStatus);
    }

    [Fact]
    public async Task A_connection_that_ends_without_a_close_frame_is_an_error_and_abort_ends_a_pending_read()
    {
        await using (var pair = await SocketPair.OpenAsync(bufferSize: 4096))
        {
            pair.Server.Abort();
            await Assert.ThrowsAnyAsync<Exception>(async () => await pair.Client.ReceiveAsync(new byte[16].AsMemory(), default));
        }

        await using (var pair = await SocketPair.OpenAsync(bufferSize: 4096))
        {
            var pending = pair.Client.ReceiveAsync(new byte[16].AsMemory(), default).AsTask();
            pair.Client.Abort();
            var error = await Assert.ThrowsAnyAsync<Exception>(() => pending);
            Assert.True(error is WebSocketException or IOException or ObjectDisposedException, error.GetType().Name);
            Assert.Equal(WebSocketState.Aborted, pair.Client.State);
        }
    }

    [Fact]
    public async Task Buffered_receive_hands_over_whole_messages_of_every_length_with_the_read_time_and_answers_pings()
    {
        await using var pair = await SocketPair.OpenAsync(bufferSize: 256, keepAlive: TimeSpan.FromMilliseconds(100));
        var sent = new[] { Message('a', 100), Message('b', 300), Message('c', 70_000), [], Message('d', 5) };
        var sendStart = Stopwatch.GetTimestamp();
        foreach (var payload in sent)
        {
            await pair.Server.SendAsync(payload, WebSocketMessageType.Text, true, default);
        }

        var receiver = new CollectingReceiver();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (receiver.Messages.Count < sent.Length)
        {
            Assert.True(await pair.Client.ReceiveBufferedAsync(receiver, timeout.Token));
        }

        // Each message carries the time of the socket read that completed it: after the sends began, not before the call returned.
        var returned = Stopwatch.GetTimestamp();
        Assert.All(receiver.ReceivedAt, at => Assert.InRange(at, sendStart, returned));

        Assert.Equal(sent, receiver.Messages);

        // The server pings every 100 ms and aborts after 1 s without a pong: reading on keeps it open.
        var serverRead = ReceiveMessageAsync(pair.Server);
        var reading = pair.Client.ReceiveBufferedAsync(receiver, timeout.Token).AsTask();
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(WebSocketState.Open, pair.Server.State);
        Assert.False(reading.IsCompleted);

        await pair.Server.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", default);
        Assert.False(await reading);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, pair.Client.CloseStatus);
        Assert.Equal(sent.Length, receiver.Messages.Count);
        _ = serverRead;
    }

    [Fact]
    public async Task Buffered_receive_returns_the_messages_read_before_a_ping_once_it_has_answered_it()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        var accept = listener.AcceptTcpClientAsync();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var server = await accept;
        using var socket = new LeanClientWebSocket(client.GetStream(), [], 4096, subProtocol: null);

        // One write: a text message "a", then an empty ping. Nothing follows.
        await server.GetStream().WriteAsync(new byte[] { 0x81, 0x01, (byte)'a', 0x89, 0x00 });
        var receiver = new CollectingReceiver();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));

        // Before the fix this waited for the next socket read, with "a" handed over but not returned.
        Assert.True(await socket.ReceiveBufferedAsync(receiver, timeout.Token));
        Assert.Equal([(byte)'a'], Assert.Single(receiver.Messages));

        var pong = new byte[6];
        await server.GetStream().ReadExactlyAsync(pong, timeout.Token);
        Assert.Equal(0x8A, pong[0]);
        Assert.Equal(0x80, pong[1]);
    }

    [Fact]
    public async Task Buffered_receive_refuses_a_message_too_large_to_buffer_without_reading_it()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        var accept = listener.AcceptTcpClientAsync();
        await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
        using var server = await accept;
        using var socket = new LeanClientWebSocket(client.GetStream(), [], 4096, subProtocol: null);

        // A binary frame header announcing 1 GiB, and no payload behind it.
        await server.GetStream().WriteAsync(new byte[] { 0x82, 127, 0, 0, 0, 0, 0x40, 0, 0, 0 });

        var error = await Assert.ThrowsAsync<WebSocketException>(async () => await socket.ReceiveBufferedAsync(new CollectingReceiver(), default));
        Assert.Contains("too large", error.Message);
    }

    [Fact]
    public async Task Buffered_receive_refuses_fragmented_messages()
    {
        await using var pair = await SocketPair.OpenAsync(bufferSize: 4096);
        await pair.Server.SendAsync(Encoding.UTF8.GetBytes("frag"), WebSocketMessageType.Text, false, default);
        await pair.Server.SendAsync(Encoding.UTF8.GetBytes("ment"), WebSocketMessageType.Text, true, default);

        var error = await Assert.ThrowsAsync<WebSocketException>(async () => await pair.Client.ReceiveBufferedAsync(new CollectingReceiver(), default));
        Assert.Contains("fragmented", error.Message);
    }

    private static byte[] Message(char fill, int length) => Encoding.ASCII.GetBytes(new string(fill, length));

    private static async Task AssertNextAsync(WebSocket socket, byte[] payload, WebSocketMessageType type)
    {
        var (received, receivedType) = await ReceiveMessageAsync(socket);
        Assert.Equal(type, receivedType);
        Assert.Equal(payload, received);
    }

    private static async Task<(byte[] Payload, WebSocketMessageType Type)> ReceiveMessageAsync(WebSocket socket)
    {
        var message = new MemoryStream();
        var buffer = new byte[1000];
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer.AsMemory(), new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                return (message.ToArray(), result.MessageType);
            }
        }
    }

    private sealed class CollectingReceiver : IFrameReceiver
    {
        public List<byte[]> Messages { get; } = [];

        public List<long> ReceivedAt { get; } = [];

        public void OnFrame(ReadOnlySpan<byte> payload, long receivedAt)
        {
            Messages.Add(payload.ToArray());
            ReceivedAt.Add(receivedAt);
        }
    }

    /// <summary>A loopback TCP connection: .NET's server-side WebSocket on one end, <see cref="LeanClientWebSocket"/> on the other.</summary>
    private sealed class SocketPair : IAsyncDisposable
    {
        private SocketPair(WebSocket server, LeanClientWebSocket client)
        {
            Server = server;
            Client = client;
        }

        public WebSocket Server { get; }

        public LeanClientWebSocket Client { get; }

        public static async Task<SocketPair> OpenAsync(int bufferSize, TimeSpan? keepAlive = null)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var client = new TcpClient();
            var accept = listener.AcceptTcpClientAsync();
            await client.ConnectAsync(IPAddress.Loopback, ((IPEndPoint)listener.LocalEndpoint).Port);
            var accepted = await accept;
            var server = WebSocket.CreateFromStream(accepted.GetStream(), new WebSocketCreationOptions
            {
                IsServer = true,
                KeepAliveInterval = keepAlive ?? TimeSpan.Zero,
                KeepAliveTimeout = keepAlive is null ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(1),
            });
            return new SocketPair(server, new LeanClientWebSocket(client.GetStream(), [], bufferSize, subProtocol: null));
        }

        public ValueTask DisposeAsync()
        {
            Client.Dispose();
            Server.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
