using System.Buffers;
using System.Diagnostics;

namespace PubSubGateway.Protocol;

/// <summary>
/// One encoded server frame whose bytes are shared by every connection it is queued on.
/// Fan-out encodes a message once, sets the reference count to the number of recipients and
/// each connection releases its reference after writing; the last release returns the buffer
/// to the pool. This keeps the per-subscriber cost of fan-out at one queue insert.
/// </summary>
internal sealed class OutboundFrame
{
    private byte[] _buffer;
    private int _refs;

    private OutboundFrame(byte[] buffer, int length, int refs, bool isMessage)
    {
        _buffer = buffer;
        Length = length;
        _refs = refs;
        IsMessage = isMessage;
        Timestamp = Stopwatch.GetTimestamp();
    }

    public int Length { get; }

    /// <summary>True for <c>msg</c> frames (counted as deliveries); false for replies and control frames.</summary>
    public bool IsMessage { get; }

    /// <summary><see cref="Stopwatch"/> timestamp taken when the frame was encoded (start of delivery latency).</summary>
    public long Timestamp { get; }

    public ReadOnlyMemory<byte> Memory => _buffer.AsMemory(0, Length);

    /// <summary>Rents a buffer of at least <paramref name="length"/> bytes; the caller fills it via <see cref="Writable"/>.</summary>
    public static OutboundFrame Create(int length, int refs, bool isMessage) =>
        new(ArrayPool<byte>.Shared.Rent(length), length, refs, isMessage);

    /// <summary>A frame owned by one connection, copied from pre-encoded or freshly written bytes.</summary>
    public static OutboundFrame Single(ReadOnlySpan<byte> bytes)
    {
        var frame = Create(bytes.Length, 1, isMessage: false);
        bytes.CopyTo(frame._buffer);
        return frame;
    }

    public Span<byte> Writable => _buffer.AsSpan(0, Length);

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
