using System.Buffers;
using System.Text;
using System.Text.Json;

namespace PubSubGateway.Protocol;

/// <summary>
/// Encoders for server → client frames. <c>msg</c> frames are assembled from raw bytes (header,
/// spliced payload, closing brace) so a publisher's JSON is never parsed into objects and
/// re-serialized; replies go through <see cref="Utf8JsonWriter"/> because ids and messages are
/// client-chosen strings that need escaping.
/// </summary>
internal static class ServerFrames
{
    private static ReadOnlySpan<byte> MsgHeaderStart => "{\"op\":\"msg\",\"topic\":\""u8;
    private static ReadOnlySpan<byte> MsgHeaderEnd => "\",\"data\":"u8;
    private static ReadOnlySpan<byte> SeqField => "\",\"seq\":"u8;
    private static ReadOnlySpan<byte> DataField => ",\"data\":"u8;

    /// <summary>The constant part of a <c>msg</c> frame for one topic; safe because topics are plain ASCII.</summary>
    public static byte[] EncodeMessageHeader(ReadOnlySpan<char> topic)
    {
        var header = new byte[MsgHeaderStart.Length + topic.Length + MsgHeaderEnd.Length];
        MsgHeaderStart.CopyTo(header);
        var written = Encoding.ASCII.GetBytes(topic, header.AsSpan(MsgHeaderStart.Length));
        MsgHeaderEnd.CopyTo(header.AsSpan(MsgHeaderStart.Length + written));
        return header;
    }

    /// <summary>Encodes <c>{"op":"msg","topic":…,"data":payload}</c> once for <paramref name="recipients"/> connections.</summary>
    public static OutboundFrame Message(ReadOnlySpan<byte> header, in ReadOnlySequence<byte> payload, int recipients)
    {
        var length = header.Length + (int)payload.Length + 1;
        var frame = OutboundFrame.Create(length, recipients, isMessage: true);
        var span = frame.Writable;
        header.CopyTo(span);
        payload.CopyTo(span[header.Length..]);
        span[^1] = (byte)'}';
        return frame;
    }

    /// <summary>Same as <see cref="Message(ReadOnlySpan{byte}, in ReadOnlySequence{byte}, int)"/> for a topic known only from the subject.</summary>
    public static OutboundFrame Message(ReadOnlySpan<char> topic, in ReadOnlySequence<byte> payload, int recipients)
    {
        var length = MsgHeaderStart.Length + topic.Length + MsgHeaderEnd.Length + (int)payload.Length + 1;
        var frame = OutboundFrame.Create(length, recipients, isMessage: true);
        var span = frame.Writable;
        MsgHeaderStart.CopyTo(span);
        var at = MsgHeaderStart.Length + Encoding.ASCII.GetBytes(topic, span[MsgHeaderStart.Length..]);
        MsgHeaderEnd.CopyTo(span[at..]);
        at += MsgHeaderEnd.Length;
        payload.CopyTo(span[at..]);
        span[^1] = (byte)'}';
        return frame;
    }

    /// <summary><c>{"op":"msg","topic":…,"seq":n,"data":payload}</c> for a durable topic.</summary>
    public static OutboundFrame MessageWithSeq(ReadOnlySpan<char> topic, ulong seq, in ReadOnlySequence<byte> payload, int recipients)
    {
        Span<byte> digits = stackalloc byte[20];
        System.Buffers.Text.Utf8Formatter.TryFormat(seq, digits, out var digitCount);
        var length = MsgHeaderStart.Length + topic.Length + SeqField.Length + digitCount + DataField.Length + (int)payload.Length + 1;
        var frame = OutboundFrame.Create(length, recipients, isMessage: true);
        var span = frame.Writable;
        MsgHeaderStart.CopyTo(span);
        var at = MsgHeaderStart.Length + Encoding.ASCII.GetBytes(topic, span[MsgHeaderStart.Length..]);
        SeqField.CopyTo(span[at..]);
        at += SeqField.Length;
        digits[..digitCount].CopyTo(span[at..]);
        at += digitCount;
        DataField.CopyTo(span[at..]);
        at += DataField.Length;
        payload.CopyTo(span[at..]);
        span[^1] = (byte)'}';
        return frame;
    }

    public static OutboundFrame Hello(string nodeId, int heartbeatMs) => Write(w =>
    {
        w.WriteString("op"u8, "hello"u8);
        w.WriteString("node"u8, nodeId);
        w.WriteNumber("heartbeat_ms"u8, heartbeatMs);
        w.WriteNumber("version"u8, 1);
    });

    public static OutboundFrame Ack(string? id, ulong? seq = null, bool duplicate = false) => Write(w =>
    {
        w.WriteString("op"u8, "ack"u8);
        WriteId(w, id);
        if (seq is { } n)
        {
            w.WriteNumber("seq"u8, n);
        }

        if (duplicate)
        {
            w.WriteBoolean("duplicate"u8, true);
        }
    });

    public static OutboundFrame Pong(string? id) => Write(w =>
    {
        w.WriteString("op"u8, "pong"u8);
        WriteId(w, id);
    });

    public static OutboundFrame Error(string? id, string code, string message, ulong? firstSeq = null) => Write(w =>
    {
        w.WriteString("op"u8, "err"u8);
        WriteId(w, id);
        w.WriteString("code"u8, code);
        w.WriteString("message"u8, message);
        if (firstSeq is { } first)
        {
            w.WriteNumber("first_seq"u8, first);
        }
    });

    /// <summary>
    /// <c>{"op":"reconnect","reason":…,"after_ms":n,"cursors":{"topic":seq,…}}</c>; the cursors are the
    /// last sequence queued per durable subscription, to resume with <c>since</c>.
    /// </summary>
    public static OutboundFrame Reconnect(string reason, int afterMs, IEnumerable<KeyValuePair<string, ulong>>? cursors = null) => Write(w =>
    {
        w.WriteString("op"u8, "reconnect"u8);
        w.WriteString("reason"u8, reason);
        w.WriteNumber("after_ms"u8, afterMs);
        if (cursors is not null)
        {
            w.WriteStartObject("cursors"u8);
            foreach (var (topic, seq) in cursors)
            {
                w.WriteNumber(topic, seq);
            }

            w.WriteEndObject();
        }
    });

    private static void WriteId(Utf8JsonWriter writer, string? id)
    {
        if (id is not null)
        {
            writer.WriteString("id"u8, id);
        }
    }

    private static OutboundFrame Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        return OutboundFrame.Single(buffer.WrittenSpan);
    }
}
