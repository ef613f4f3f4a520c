using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using PubSubGateway.LoadTest.Measurement;
using PubSubGateway.LoadTest.Payloads;

namespace PubSubGateway.LoadTest.Clients;

/// <summary>
/// One subscribing client: reads <c>hello</c>, subscribes, then parses every <c>msg</c> frame for its
/// sequence number (loss, duplicates, order) and timestamp (end-to-end latency). For the peers it speaks the NATS text protocol to nats-server's WebSocket listener instead
/// (<c>SubscriberClient.Nats.cs</c>), or SignalR's JSON hub protocol (<c>SubscriberClient.SignalR.cs</c>):
/// the peers the gateway is compared with.
/// </summary>
internal sealed partial class SubscriberClient : IAsyncDisposable, IFrameReceiver
{
    // Sequence numbers and latencies of the messages of one socket read, recorded together when the read is done.
    private const int LatencyBatch = 64;

    private readonly WebSocket _socket;
    private readonly ClientProtocol _protocol;
    private readonly string _subjectPrefix;
    private readonly LatencyRecorder _latency;
    private readonly int _stripe;
    private readonly SequenceTracker _sequences;
    private byte[] _buffer;
    private readonly long[] _pendingLatency = new long[LatencyBatch];
    private readonly long[] _pendingSeq = new long[LatencyBatch];
    private int _pendingCount;
    private long _pendingLastReceive;
    private long _received;
    private long _lastReceive;
    private Task? _loop;

    /// <param name="subjectPrefix">NATS subject prefix, for <see cref="ClientProtocol.NatsWebSocket"/>.</param>
    public SubscriberClient(
        WebSocket socket,
        LatencyRecorder latency,
        int index,
        long expectedMessages,
        int receiveBufferBytes,
        ClientProtocol protocol = ClientProtocol.Gateway,
        string subjectPrefix = "gw.topic")
    {
        _protocol = protocol;
        _subjectPrefix = subjectPrefix;
        _socket = socket;
        _latency = latency;
        _stripe = index;
        _sequences = new SequenceTracker(expectedMessages);
        _buffer = new byte[receiveBufferBytes];
    }

    /// <summary>Measured message frames received, duplicates included.</summary>
    public long Received => Volatile.Read(ref _received);

    public long Distinct => _sequences.Distinct;

    public long Duplicates => _sequences.Duplicates;

    public long OutOfOrder => _sequences.OutOfOrder;

    public long WarmupReceived { get; private set; }

    /// <summary><see cref="Stopwatch"/> timestamp of the last measured message.</summary>
    public long LastReceive => Volatile.Read(ref _lastReceive);

    public WebSocketCloseStatus? CloseStatus => _socket.CloseStatus;

    public bool Failed { get; private set; }

    /// <summary><see cref="Stopwatch"/> ticks from sending <c>sub</c> to its <c>ack</c> (gateway protocol; 0 before the ack).</summary>
    public long SubAckTicks { get; private set; }

    /// <summary>Waits for <c>hello</c>, subscribes to <paramref name="topic"/> and waits for the <c>ack</c>.</summary>
    public async Task SubscribeAsync(string topic, CancellationToken cancellationToken)
    {
        switch (_protocol)
        {
            case ClientProtocol.NatsWebSocket:
                await SubscribeNatsAsync(_subjectPrefix + "." + topic, cancellationToken);
                return;
            case ClientProtocol.SignalR:
                await SubscribeSignalRAsync(topic, cancellationToken);
                return;
        }

        var hello = await ReceiveFrameAsync(cancellationToken);
        if (!hello.AsSpan().StartsWith("{\"op\":\"hello\""u8))
        {
            throw new InvalidOperationException("expected hello, got " + Encoding.UTF8.GetString(hello));
        }

        var sub = Encoding.UTF8.GetBytes($"{{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"{topic}\"}}");
        var sent = Stopwatch.GetTimestamp();
        await _socket.SendAsync(sub, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        while (true)
        {
            var frame = await ReceiveFrameAsync(cancellationToken);
            if (frame.AsSpan().StartsWith("{\"op\":\"ack\""u8))
            {
                SubAckTicks = Stopwatch.GetTimestamp() - sent;
                return;
            }

            if (BenchPayload.IsMessage(frame))
            {
                OnMessage(frame);
                FlushReceived();
                continue;
            }

            throw new InvalidOperationException($"sub {topic} refused: {Encoding.UTF8.GetString(frame)}");
        }
    }

    /// <summary>Starts the receive loop; it ends when the server closes or <paramref name="cancellationToken"/> fires.</summary>
    public void Start(CancellationToken cancellationToken) => _loop = _protocol switch
    {
        ClientProtocol.NatsWebSocket => StreamReceiveLoopAsync(cancellationToken),
        ClientProtocol.SignalR => StreamReceiveLoopAsync(cancellationToken),
        _ => ReceiveLoopAsync(cancellationToken),
    };

    public long Missing(long published) => _sequences.Missing(published);

    public async ValueTask DisposeAsync()
    {
        if (_socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
            {
            }
        }

        _socket.Abort();
        if (_loop is not null)
        {
            await _loop;
        }

        _socket.Dispose();
    }

    private async Task ReceiveLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (_socket is LeanClientWebSocket lean)
            {
                while (await lean.ReceiveBufferedAsync(this, cancellationToken))
                {
                    FlushReceived();
                }

                return;
            }

            var length = 0;
            while (true)
            {
                if (length == _buffer.Length)
                {
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }

                var result = await _socket.ReceiveAsync(_buffer.AsMemory(length), cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                length += result.Count;
                if (!result.EndOfMessage)
                {
                    continue;
                }

                OnMessage(_buffer.AsSpan(0, length));
                FlushReceived();
                length = 0;
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            Failed = _socket.CloseStatus is null && !cancellationToken.IsCancellationRequested;
        }
        finally
        {
            // Messages that came in the same read as a close frame (or before an abort) still count.
            FlushReceived();
        }
    }

    void IFrameReceiver.OnFrame(ReadOnlySpan<byte> payload, long receivedAt) => OnMessage(payload, receivedAt);

    /// <summary>
    /// When the bytes just parsed reached this process: the time of the socket read that completed
    /// them (every frame of a read gets the same time, for the gateway and the peers alike).
    /// </summary>
    private long ReceivedAt() => _socket is LeanClientWebSocket lean ? lean.LastReadTimestamp : Stopwatch.GetTimestamp();

    private void OnMessage(ReadOnlySpan<byte> frame) => OnMessage(frame, ReceivedAt());

    private void OnMessage(ReadOnlySpan<byte> frame, long receivedAt)
    {
        if (BenchPayload.IsMessage(frame) && BenchPayload.TryRead(frame, out var seq, out var timestamp))
        {
            Record(seq, timestamp, receivedAt);
        }
    }

    private void Record(long seq, long timestamp, long now)
    {
        if (seq < 0)
        {
            WarmupReceived++;
            return;
        }

        _pendingSeq[_pendingCount] = seq;
        _pendingLatency[_pendingCount++] = now - timestamp;
        _pendingLastReceive = now;
        if (_pendingCount == LatencyBatch)
        {
            FlushReceived();
        }
    }

    /// <summary>
    /// Records the latencies of the messages parsed since the last call, then counts them (sequence
    /// numbers, received, last receive). In that order: the scenario stops waiting once every client
    /// has every sequence number, and the latencies must be in the histogram by then.
    /// </summary>
    private void FlushReceived()
    {
        if (_pendingCount == 0)
        {
            return;
        }

        _latency.Record(_stripe, _pendingLatency.AsSpan(0, _pendingCount));
        foreach (var seq in _pendingSeq.AsSpan(0, _pendingCount))
        {
            _sequences.Record(seq);
        }

        Volatile.Write(ref _lastReceive, _pendingLastReceive);
        Volatile.Write(ref _received, _received + _pendingCount);
        _pendingCount = 0;
    }

    private async Task<byte[]> ReceiveFrameAsync(CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var result = await _socket.ReceiveAsync(_buffer.AsMemory(length), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketException($"closed by the server: {_socket.CloseStatus} {_socket.CloseStatusDescription}");
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                return _buffer.AsSpan(0, length).ToArray();
            }
        }
    }
}
