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
/// <para>
/// Frames are pooled: a frame was 56 of the ~125 bytes the gateway allocated per delivery in the
/// topics benchmark (10,000 connections, each on its own topic). Pooled, allocation fell to ~75 B
/// per delivery and the node collected half as often; each gen0 collection with 10,000
/// connections stalls all of them for 40-50 ms on the benchmark machine (BENCHMARKS.md). A frame
/// must not be touched after its own <see cref="Release"/>: the next message may own it by then.
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
        else if (remaining < 0)
        {
            // With pooling an extra release is not harmless: had the frame been reused already, it
            // would have cut the next message's count short. Fail loudly in every build.
            throw new InvalidOperationException("OutboundFrame released more often than it was referenced");
        }
    }

    /// <summary>
    /// Free frames, a small stack per processor under its own lock (taken about twice per message,
    /// not per delivery). A frame is created on the fan-out thread and released on a writer's;
    /// when every stack is empty a new frame is made, and a full stack lets the GC have the frame.
    /// </summary>
    private sealed class FramePool
    {
        private const int PerStripe = 256;

        private readonly Stripe[] _stripes = Enumerable.Range(0, Environment.ProcessorCount).Select(_ => new Stripe()).ToArray();

        public OutboundFrame? Rent()
        {
            // Fan-out rents on one thread and writers release on others, so on a many-core machine
            // the renting processor's stack runs dry while the others fill: look at those too.
            var first = Thread.GetCurrentProcessorId();
            for (var i = 0; i < _stripes.Length; i++)
            {
                var stripe = _stripes[(first + i) % _stripes.Length];

                // Under back-pressure every stack stays empty: skip those without taking their locks.
                if (Volatile.Read(ref stripe.Count) == 0)
                {
                    continue;
                }

                lock (stripe.Lock)
                {
                    if (stripe.Count > 0)
                    {
                        return stripe.Items[--stripe.Count];
                    }
                }
            }

            return null;
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
