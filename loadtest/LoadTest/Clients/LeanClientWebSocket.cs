using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;

namespace PubSubGateway.LoadTest.Clients;

/// <summary>
/// The client end of a WebSocket (RFC 6455) for the load tool's pub/sub clients: reads frames
/// straight out of its own read buffer and masks what it sends; answers pings. Nothing else:
/// no UTF-8 validation, no per-call cancellation registration, no receive lock (each client has
/// one reader). <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/>'s
/// ManagedWebSocket spent 36 % of the client's CPU in ReceiveAsync, its mutex and the shared
/// cancellation token's registration lock (perf, 1,000 subscribers at 1 M deliveries/s); the
/// client shares the cores with the servers it measures, so that cost was taken from them — more
/// from the gateway, which sends one frame per message, than from nats-server, which packs several
/// messages into one frame.
/// </summary>
internal sealed class LeanClientWebSocket : WebSocket
{
    private const int MaxControlPayload = 125;

    /// <summary>Largest message <see cref="ReceiveBufferedAsync"/> takes: it buffers a message whole.</summary>
    public const int MaxBufferedMessage = 16 * 1024 * 1024;

    private readonly Stream _stream;
    private readonly string? _subProtocol;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private byte[] _buffer;
    private int _offset;
    private int _count;
    private bool _inDataFrame;
    private long _frameRemaining;
    private bool _frameFin;
    private WebSocketMessageType _messageType;
    private volatile WebSocketState _state = WebSocketState.Open;
    private WebSocketCloseStatus? _closeStatus;
    private string? _closeDescription;
    private CancellationToken _registeredToken;
    private CancellationTokenRegistration _registration;

    /// <param name="stream">The connection after the HTTP upgrade.</param>
    /// <param name="leftover">Bytes read past the upgrade response: the start of the first frames.</param>
    /// <param name="bufferSize">Read buffer; one read returns as many frames as fit.</param>
    public LeanClientWebSocket(Stream stream, ReadOnlySpan<byte> leftover, int bufferSize, string? subProtocol)
    {
        _stream = stream;
        _subProtocol = subProtocol;
        _buffer = new byte[Math.Max(bufferSize, leftover.Length + 256)];
        leftover.CopyTo(_buffer);
        _count = leftover.Length;
        LastReadTimestamp = Stopwatch.GetTimestamp();
    }

    public override WebSocketCloseStatus? CloseStatus => _closeStatus;

    public override string? CloseStatusDescription => _closeDescription;

    public override WebSocketState State => _state;

    public override string? SubProtocol => _subProtocol;

    /// <summary>
    /// <see cref="Stopwatch"/> timestamp of the moment the last read from the socket returned: when
    /// every frame that read completed reached this process. Clients time messages by it, so a
    /// frame's latency does not include the client's work on the frames before it in the same read.
    /// </summary>
    public long LastReadTimestamp { get; private set; }

    /// <summary>
    /// Hands every whole message already buffered to <paramref name="receiver"/>, reading from the
    /// socket first if there is none; answers pings on the way. One call per socket read instead of
    /// one <see cref="ReceiveAsync(Memory{byte}, CancellationToken)"/> per message, and the payload is
    /// not copied: at 1 M deliveries/s the per-message receive state machine, copy and clock read were
    /// 9 % of the client's CPU (perf). Returns false once the server's close frame has arrived.
    /// Messages must come unfragmented (the gateway and the peers never fragment); don't mix with
    /// <see cref="ReceiveAsync(Memory{byte}, CancellationToken)"/> in the middle of a message.
    /// </summary>
    public async ValueTask<bool> ReceiveBufferedAsync(IFrameReceiver receiver, CancellationToken cancellationToken)
    {
        if (_inDataFrame)
        {
            throw new InvalidOperationException("ReceiveBufferedAsync called in the middle of a message read with ReceiveAsync");
        }

        // Messages handed over before a ping still end this call: the caller flushes them once
        // this returns, not after the next read (which may be a keep-alive interval away).
        var handedOver = 0;
        while (true)
        {
            var stop = DeliverBuffered(receiver, out var delivered, out var control);
            handedOver += delivered;
            switch (stop)
            {
                case BufferedStop.Close:
                    return false;
                case BufferedStop.Ping:
                    await SendFrameAsync(0x8A, control, cancellationToken);
                    continue;
            }

            if (handedOver > 0)
            {
                return true;
            }

            await FillAsync(cancellationToken);
        }
    }

    public override async ValueTask<ValueWebSocketReceiveResult> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_inDataFrame)
            {
                if (_frameRemaining > 0 && _count == 0)
                {
                    await FillAsync(cancellationToken);
                }

                var n = (int)Math.Min(Math.Min(_frameRemaining, _count), buffer.Length);
                _buffer.AsSpan(_offset, n).CopyTo(buffer.Span);
                _offset += n;
                _count -= n;
                _frameRemaining -= n;
                if (_frameRemaining == 0)
                {
                    _inDataFrame = false;
                }

                return new ValueWebSocketReceiveResult(n, _messageType, _frameRemaining == 0 && _frameFin);
            }

            int headerLength;
            while (!TryReadHeader(out headerLength))
            {
                await FillAsync(cancellationToken);
            }

            var first = _buffer[_offset];
            var opcode = first & 0x0F;
            var fin = (first & 0x80) != 0;
            var length = PayloadLength(_buffer.AsSpan(_offset, headerLength));
            _offset += headerLength;
            _count -= headerLength;
            if (opcode is 0x0 or 0x1 or 0x2)
            {
                if (opcode != 0x0)
                {
                    _messageType = opcode == 0x1 ? WebSocketMessageType.Text : WebSocketMessageType.Binary;
                }

                _inDataFrame = true;
                _frameRemaining = length;
                _frameFin = fin;
                continue;
            }

            if (length > MaxControlPayload)
            {
                throw new WebSocketException($"control frame with a {length}-byte payload");
            }

            while (_count < length)
            {
                await FillAsync(cancellationToken);
            }

            var payload = _buffer.AsMemory(_offset, (int)length);
            _offset += (int)length;
            _count -= (int)length;
            switch (opcode)
            {
                case 0x8:
                    OnCloseFrame(payload.Span);
                    return new ValueWebSocketReceiveResult(0, WebSocketMessageType.Close, true);
                case 0x9:
                    var ping = payload.ToArray();
                    await SendFrameAsync(0x8A, ping, cancellationToken);
                    break;
                case 0xA:
                    break;
                default:
                    throw new WebSocketException($"unknown opcode {opcode}");
            }
        }
    }

    public override async Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken)
    {
        var result = await ReceiveAsync(buffer.AsMemory(), cancellationToken);
        return result.MessageType == WebSocketMessageType.Close
            ? new WebSocketReceiveResult(0, WebSocketMessageType.Close, true, _closeStatus, _closeDescription)
            : new WebSocketReceiveResult(result.Count, result.MessageType, result.EndOfMessage);
    }

    public override ValueTask SendAsync(ReadOnlyMemory<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
    {
        if (_state is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            throw new WebSocketException(WebSocketError.InvalidState, $"cannot send in state {_state}");
        }

        var opcode = messageType == WebSocketMessageType.Text ? 0x1 : 0x2;
        return SendFrameAsync(endOfMessage ? 0x80 | opcode : opcode, buffer, cancellationToken);
    }

    public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken) =>
        SendAsync(buffer.AsMemory(), messageType, endOfMessage, cancellationToken).AsTask();

    public override async Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        if (_state is not (WebSocketState.Open or WebSocketState.CloseReceived))
        {
            return;
        }

        var reason = Encoding.UTF8.GetBytes(statusDescription ?? "");
        var payload = new byte[2 + Math.Min(reason.Length, MaxControlPayload - 2)];
        BinaryPrimitives.WriteUInt16BigEndian(payload, (ushort)closeStatus);
        reason.AsSpan(0, payload.Length - 2).CopyTo(payload.AsSpan(2));
        await SendFrameAsync(0x88, payload, cancellationToken);
        _state = _state == WebSocketState.CloseReceived ? WebSocketState.Closed : WebSocketState.CloseSent;
    }

    public override async Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken)
    {
        await CloseOutputAsync(closeStatus, statusDescription, cancellationToken);
        var scratch = new byte[1024];
        while (_state == WebSocketState.CloseSent)
        {
            await ReceiveAsync(scratch.AsMemory(), cancellationToken);
        }
    }

    public override void Abort()
    {
        if (_state is not WebSocketState.Closed)
        {
            _state = WebSocketState.Aborted;
        }

        _stream.Dispose();
    }

    public override void Dispose()
    {
        if (_state is not (WebSocketState.Closed or WebSocketState.Aborted))
        {
            _state = WebSocketState.Closed;
        }

        _registration.Dispose();
        _stream.Dispose();
        _sendLock.Dispose();
    }

    private enum BufferedStop
    {
        NeedMore,
        Ping,
        Close,
    }

    /// <summary>Delivers whole buffered messages until the buffer runs out or a control frame needs the caller.</summary>
    private BufferedStop DeliverBuffered(IFrameReceiver receiver, out int delivered, out byte[] control)
    {
        delivered = 0;
        control = [];
        while (TryReadHeader(out var headerLength))
        {
            var first = _buffer[_offset];
            var opcode = first & 0x0F;
            var length = PayloadLength(_buffer.AsSpan(_offset, headerLength));
            if (opcode >= 0x8 && length > MaxControlPayload)
            {
                throw new WebSocketException($"control frame with a {length}-byte payload");
            }

            if (length > MaxBufferedMessage)
            {
                // The whole message has to fit in the read buffer, which would grow without bound.
                throw new WebSocketException($"a {length}-byte message is too large for ReceiveBufferedAsync (at most {MaxBufferedMessage} bytes)");
            }

            if (_count - headerLength < length)
            {
                return BufferedStop.NeedMore;
            }

            var payload = _buffer.AsSpan(_offset + headerLength, (int)length);
            _offset += headerLength + (int)length;
            _count -= headerLength + (int)length;
            switch (opcode)
            {
                case 0x1 or 0x2 when (first & 0x80) != 0:
                    receiver.OnFrame(payload, LastReadTimestamp);
                    delivered++;
                    break;
                case 0x0 or 0x1 or 0x2:
                    throw new WebSocketException("fragmented message: ReceiveBufferedAsync takes whole messages only");
                case 0x8:
                    OnCloseFrame(payload);
                    return BufferedStop.Close;
                case 0x9:
                    control = payload.ToArray();
                    return BufferedStop.Ping;
                case 0xA:
                    break;
                default:
                    throw new WebSocketException($"unknown opcode {opcode}");
            }
        }

        return BufferedStop.NeedMore;
    }

    /// <summary>True when a whole frame header is buffered; its length in <paramref name="headerLength"/>.</summary>
    private bool TryReadHeader(out int headerLength)
    {
        headerLength = 0;
        if (_count < 2)
        {
            return false;
        }

        var second = _buffer[_offset + 1];
        if ((second & 0x80) != 0)
        {
            throw new WebSocketException("the server sent a masked frame");
        }

        headerLength = (second & 0x7F) switch
        {
            126 => 4,
            127 => 10,
            _ => 2,
        };
        return _count >= headerLength;
    }

    private static long PayloadLength(ReadOnlySpan<byte> header) => header.Length switch
    {
        4 => BinaryPrimitives.ReadUInt16BigEndian(header[2..]),
        10 => (long)BinaryPrimitives.ReadUInt64BigEndian(header[2..]),
        _ => header[1] & 0x7F,
    };

    private void OnCloseFrame(ReadOnlySpan<byte> payload)
    {
        if (payload.Length >= 2)
        {
            _closeStatus = (WebSocketCloseStatus)BinaryPrimitives.ReadUInt16BigEndian(payload);
            _closeDescription = Encoding.UTF8.GetString(payload[2..]);
        }
        else
        {
            _closeStatus = WebSocketCloseStatus.Empty;
            _closeDescription = "";
        }

        _state = _state == WebSocketState.CloseSent ? WebSocketState.Closed : WebSocketState.CloseReceived;
    }

    /// <summary>Reads more bytes behind what is buffered; throws if the peer has closed the connection.</summary>
    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        if (_offset > 0)
        {
            _buffer.AsSpan(_offset, _count).CopyTo(_buffer);
            _offset = 0;
        }

        if (_count == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        // Cancelling aborts the socket (as ManagedWebSocket does), through one registration per
        // token instead of one per read: a thousand clients registering every read on the run's
        // shared token contended on its lock.
        if (cancellationToken != _registeredToken)
        {
            _registration.Dispose();
            _registeredToken = cancellationToken;
            _registration = cancellationToken.UnsafeRegister(static s => ((LeanClientWebSocket)s!).Abort(), this);
        }

        int read;
        try
        {
            read = await _stream.ReadAsync(_buffer.AsMemory(_count), CancellationToken.None);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or IOException && _state == WebSocketState.Aborted)
        {
            throw new WebSocketException(WebSocketError.InvalidState, "the WebSocket was aborted");
        }

        if (read == 0)
        {
            throw new WebSocketException(WebSocketError.ConnectionClosedPrematurely, "the server closed the connection without a close frame");
        }

        _count += read;
        LastReadTimestamp = Stopwatch.GetTimestamp();
    }

    /// <summary>Sends one masked frame (RFC 6455 §5.3: every client frame is masked).</summary>
    private async ValueTask SendFrameAsync(int firstByte, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var headerLength = payload.Length < 126 ? 2 : payload.Length <= ushort.MaxValue ? 4 : 10;
        var frame = ArrayPool<byte>.Shared.Rent(headerLength + 4 + payload.Length);
        try
        {
            frame[0] = (byte)firstByte;
            switch (headerLength)
            {
                case 2:
                    frame[1] = (byte)(0x80 | payload.Length);
                    break;
                case 4:
                    frame[1] = 0x80 | 126;
                    BinaryPrimitives.WriteUInt16BigEndian(frame.AsSpan(2), (ushort)payload.Length);
                    break;
                default:
                    frame[1] = 0x80 | 127;
                    BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(2), (ulong)payload.Length);
                    break;
            }

            var mask = frame.AsSpan(headerLength, 4);
            Random.Shared.NextBytes(mask);
            var body = frame.AsSpan(headerLength + 4, payload.Length);
            payload.Span.CopyTo(body);
            for (var i = 0; i < body.Length; i++)
            {
                body[i] ^= mask[i & 3];
            }

            await _sendLock.WaitAsync(cancellationToken);
            try
            {
                await _stream.WriteAsync(frame.AsMemory(0, headerLength + 4 + payload.Length), cancellationToken);
            }
            finally
            {
                _sendLock.Release();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }
}

/// <summary>Takes the messages <see cref="LeanClientWebSocket.ReceiveBufferedAsync"/> finds buffered.</summary>
internal interface IFrameReceiver
{
    /// <param name="payload">The message; valid only during the call.</param>
    /// <param name="receivedAt"><see cref="Stopwatch"/> timestamp of the read that completed it.</param>
    void OnFrame(ReadOnlySpan<byte> payload, long receivedAt);
}
