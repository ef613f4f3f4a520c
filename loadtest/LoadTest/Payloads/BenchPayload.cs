using System.Buffers.Text;
using System.Diagnostics;

namespace PubSubGateway.LoadTest.Payloads;

/// <summary>
/// The JSON a publisher sends: <c>{"seq":N,"ts":T,"pad":"xxx…"}</c> padded to a fixed size. <c>ts</c> is a
/// <see cref="Stopwatch"/> timestamp of this process (publisher and clients share the clock, so
/// latency is end-to-end: publish call → the client's socket read that completed the frame). Warm-up messages carry a
/// negative <c>seq</c> and are neither counted nor timed.
/// </summary>
internal static class BenchPayload
{
    private static ReadOnlySpan<byte> SeqKey => "{\"seq\":"u8;
    private static ReadOnlySpan<byte> TsKey => ",\"ts\":"u8;
    private static ReadOnlySpan<byte> PadKey => ",\"pad\":\""u8;
    private static ReadOnlySpan<byte> DataKey => "\"data\":"u8;

    /// <summary>Smallest payload that holds any sequence and timestamp.</summary>
    public const int MinimumBytes = 64;

    /// <summary>Writes a payload of exactly <c>buffer.Length</c> bytes (at least <see cref="MinimumBytes"/>).</summary>
    public static void Write(Span<byte> buffer, long seq, long timestamp)
    {
        var at = 0;
        SeqKey.CopyTo(buffer);
        at += SeqKey.Length;
        Utf8Formatter.TryFormat(seq, buffer[at..], out var written);
        at += written;
        TsKey.CopyTo(buffer[at..]);
        at += TsKey.Length;
        Utf8Formatter.TryFormat(timestamp, buffer[at..], out written);
        at += written;
        PadKey.CopyTo(buffer[at..]);
        at += PadKey.Length;
        buffer[at..^2].Fill((byte)'x');
        buffer[^2] = (byte)'"';
        buffer[^1] = (byte)'}';
    }

    /// <summary>Reads seq and ts from a server <c>msg</c> frame (the payload is spliced verbatim after <c>"data":</c>).</summary>
    public static bool TryRead(ReadOnlySpan<byte> frame, out long seq, out long timestamp)
    {
        seq = 0;
        timestamp = 0;
        var data = frame.IndexOf(DataKey);
        if (data < 0)
        {
            return false;
        }

        return TryReadPayload(frame[(data + DataKey.Length)..], out seq, out timestamp);
    }

    /// <summary>Reads seq and ts from a payload as published (NATS <c>MSG</c> body).</summary>
    public static bool TryReadPayload(ReadOnlySpan<byte> rest, out long seq, out long timestamp)
    {
        seq = 0;
        timestamp = 0;
        if (!rest.StartsWith(SeqKey) || !Utf8Parser.TryParse(rest[SeqKey.Length..], out seq, out var consumed))
        {
            return false;
        }

        rest = rest[(SeqKey.Length + consumed)..];
        return rest.StartsWith(TsKey) && Utf8Parser.TryParse(rest[TsKey.Length..], out timestamp, out _);
    }

    /// <summary>True for a <c>msg</c> frame (the gateway writes <c>op</c> first).</summary>
    public static bool IsMessage(ReadOnlySpan<byte> frame) => frame.StartsWith("{\"op\":\"msg\""u8);
}
