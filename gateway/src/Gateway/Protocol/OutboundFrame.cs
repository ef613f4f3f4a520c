using System.Buffers;
using System.Diagnostics;

namespace PubSubGateway.Protocol;

/// <summary>
/// One encoded server frame whose bytes are shared by every connection it is queued on.
/// Fan-out encodes a message once, sets the reference count to the number of recipients and
/// each connection releases its reference after writing; the last release returns the buffer
/// to the pool. This keeps the per-subscriber cost of fan-out at one queue insert.
/// <para>
/// The WebSocket frame header (FIN, text opcode, payload length; server frames are not masked) is
/// written once, in front of the payload, so a connection's writer copies <see cref="Wire"/> into
/// its batch as it is instead of going through ManagedWebSocket.SendAsync for every delivery.
/// </para>
/// </summary>
internal sealed class OutboundFrame
{
    /// <summary>Room reserved before the payload for the longest header (2 + 8 length bytes).</summary>
    private const int HeaderRoom = 10;

    private readonly int _headerLength;
    private byte[] _buffer;
    private int _refs;

    private OutboundFrame(byte[] buffer, int length, int refs, bool isMessage)
    {
        _buffer = buffer;
        Length = length;
        _refs = refs;
        IsMessage = isMessage;
        Timestamp = Stopwatch.GetTimestamp();
        _headerLength = WriteHeader(buffer.AsSpan(0, HeaderRoom), length);
    }

    public int Length { get; }

    /// <summary>True for <c>msg</c> frames (counted as deliveries); false for replies and control frames.</summary>
    public bool IsMessage { get; }

    /// <summary><see cref="Stopwatch"/> timestamp taken when the frame was encoded (start of delivery latency).</summary>
    public long Timestamp { get; }

    /// <summary>The frame's payload (the JSON text).</summary>
    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(HeaderRoom, Length);

    /// <summary>The whole WebSocket frame: header and payload, ready for the socket.</summary>
    public ReadOnlyMemory<byte> Wire => _buffer.AsMemory(HeaderRoom - _headerLength, _headerLength + Length);

    /// <summary>Rents a buffer for <paramref name="length"/> payload bytes; the caller fills it via <see cref="Writable"/>.</summary>
    public static OutboundFrame Create(int length, int refs, bool isMessage) =>
        new(ArrayPool<byte>.Shared.Rent(HeaderRoom + length), length, refs, isMessage);

    /// <summary>A frame owned by one connection, copied from pre-encoded or freshly written bytes.</summary>
    public static OutboundFrame Single(ReadOnlySpan<byte> bytes)
    {
        var frame = Create(bytes.Length, 1, isMessage: false);
        bytes.CopyTo(frame.Writable);
        return frame;
    }

    public Span<byte> Writable => _buffer.AsSpan(HeaderRoom, Length);

    /// <summary>RFC 6455 §5.2 header of a final, unmasked text frame, right-aligned in <paramref name="room"/>; returns its length.</summary>
    private static int WriteHeader(Span<byte> room, int length)
    {
        const byte finText = 0x81;
        if (length < 126)
        {
            room[^2] = finText;
            room[^1] = (byte)length;
            return 2;
        }

        if (length <= ushort.MaxValue)
        {
            room[^4] = finText;
            room[^3] = 126;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16BigEndian(room[^2..], (ushort)length);
            return 4;
        }

        room[^10] = finText;
        room[^9] = 127;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(room[^8..], (ulong)length);
        return 10;
    }

    public void Release()
    {
        var remaining = Interlocked.Decrement(ref _refs);
        if (remaining == 0)
        {
            var buffer = Interlocked.Exchange(ref _buffer, []);
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        Debug.Assert(remaining >= 0, "frame released more often than referenced");
    }
}
