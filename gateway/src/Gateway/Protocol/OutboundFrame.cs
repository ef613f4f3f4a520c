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
/// <para>
/// Frames are pooled. A frame in flight is stored into old objects: the connection's queue ring,
/// the writer's state. Storing a young object into an old one marks a GC card, and every gen0
/// collection has to scan every marked card. With 10,000 connections each getting a message now
/// and then, that card marking was most of each 40-80 ms gen0 pause (GC trace of the topics
/// benchmark, BENCHMARKS.md). A pooled frame is old, so queueing it marks nothing.
/// </para>
/// </summary>
internal sealed class OutboundFrame
{
    /// <summary>Room reserved before the payload for the longest header (2 + 8 length bytes).</summary>
    private const int HeaderRoom = 10;

    private static readonly FramePool Pool = new();

    private int _headerLength;
    private byte[] _buffer = [];
    private int _refs;

    private OutboundFrame()
    {
    }

    public int Length { get; private set; }

    /// <summary>True for <c>msg</c> frames (counted as deliveries); false for replies and control frames.</summary>
    public bool IsMessage { get; private set; }

    /// <summary><see cref="Stopwatch"/> timestamp taken when the frame was encoded (start of delivery latency).</summary>
    public long Timestamp { get; private set; }

    /// <summary>The frame's payload (the JSON text).</summary>
    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(HeaderRoom, Length);

    /// <summary>The whole WebSocket frame: header and payload, ready for the socket.</summary>
    public ReadOnlyMemory<byte> Wire => _buffer.AsMemory(HeaderRoom - _headerLength, _headerLength + Length);

    /// <summary>
    /// A frame (from the pool when there is one) with a rented buffer for <paramref name="length"/>
    /// payload bytes; the caller fills it via <see cref="Writable"/>. After the last of
    /// <paramref name="refs"/> releases, the frame is reused: nobody may touch it after their release.
    /// </summary>
    public static OutboundFrame Create(int length, int refs, bool isMessage)
    {
        var frame = Pool.Rent() ?? new OutboundFrame();
        var buffer = ArrayPool<byte>.Shared.Rent(HeaderRoom + length);
        frame._buffer = buffer;
        frame.Length = length;
        frame.IsMessage = isMessage;
        frame.Timestamp = Stopwatch.GetTimestamp();
        frame._headerLength = WriteHeader(buffer.AsSpan(0, HeaderRoom), length);
        Volatile.Write(ref frame._refs, refs);
        return frame;
    }

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

    /// <summary>Drops one reference; the last returns the buffer and the frame to their pools.</summary>
    public void Release()
    {
        var remaining = Interlocked.Decrement(ref _refs);
        if (remaining == 0)
        {
            var buffer = Interlocked.Exchange(ref _buffer, []);
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
                Pool.Return(this);
            }
        }

        Debug.Assert(remaining >= 0, "frame released more often than referenced");
    }

    /// <summary>
    /// Free frames, a small stack per processor under its own lock (taken twice per message, not
    /// per delivery). A frame is created on the fan-out thread and released on a writer's, so the
    /// stacks refill each other; an empty stack means a new frame, a full one lets the GC have it.
    /// </summary>
    private sealed class FramePool
    {
        private const int PerStripe = 256;

        private readonly Stripe[] _stripes = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Stripe()).ToArray();

        public OutboundFrame? Rent()
        {
            var stripe = _stripes[Thread.GetCurrentProcessorId() % _stripes.Length];
            lock (stripe.Lock)
            {
                return stripe.Count == 0 ? null : stripe.Items[--stripe.Count];
            }
        }

        public void Return(OutboundFrame frame)
        {
            var stripe = _stripes[Thread.GetCurrentProcessorId() % _stripes.Length];
            lock (stripe.Lock)
            {
                if (stripe.Count < PerStripe)
                {
                    stripe.Items[stripe.Count++] = frame;
                }
            }
        }

        private sealed class Stripe
        {
            public readonly Lock Lock = new();
            public readonly OutboundFrame[] Items = new OutboundFrame[PerStripe];
            public int Count;
        }
    }
}
