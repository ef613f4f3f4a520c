using System.Buffers.Text;
using System.Text.Json;

namespace PubSubGateway.LoadTest.Payloads;

/// <summary>What a server frame of protocol v1 is (the gateway writes <c>op</c> first).</summary>
internal enum GatewayFrameKind
{
    Other,
    Hello,
    Ack,
    Error,
    Message,
    Reconnect,
}

/// <summary>
/// Reads the server frames a client that follows drains needs. <c>msg</c> frames are read by hand
/// (one per delivery); <c>hello</c>, <c>reconnect</c> and <c>err</c> arrive once per connection and go
/// through <see cref="JsonDocument"/>.
/// </summary>
internal static class GatewayFrame
{
    private static ReadOnlySpan<byte> MessageTopicKey => "{\"op\":\"msg\",\"topic\":\""u8;
    private static ReadOnlySpan<byte> StreamSeqKey => ",\"seq\":"u8;
    private static ReadOnlySpan<byte> DataKey => ",\"data\":"u8;

    public static GatewayFrameKind Kind(ReadOnlySpan<byte> frame) =>
        frame.StartsWith("{\"op\":\"msg\""u8) ? GatewayFrameKind.Message
        : frame.StartsWith("{\"op\":\"reconnect\""u8) ? GatewayFrameKind.Reconnect
        : frame.StartsWith("{\"op\":\"ack\""u8) ? GatewayFrameKind.Ack
        : frame.StartsWith("{\"op\":\"err\""u8) ? GatewayFrameKind.Error
        : frame.StartsWith("{\"op\":\"hello\""u8) ? GatewayFrameKind.Hello
        : GatewayFrameKind.Other;

    /// <summary>
    /// The durable stream sequence of a <c>msg</c> frame (<c>{"op":"msg","topic":…,"seq":n,"data":…}</c>);
    /// false for a plain topic. Only the part before <c>"data"</c> is searched: the payload has a <c>seq</c> of its own.
    /// </summary>
    public static bool TryReadStreamSeq(ReadOnlySpan<byte> frame, out ulong seq)
    {
        seq = 0;
        var data = frame.IndexOf(DataKey);
        var head = data < 0 ? frame : frame[..data];
        var at = head.IndexOf(StreamSeqKey);
        return at >= 0 && Utf8Parser.TryParse(head[(at + StreamSeqKey.Length)..], out seq, out _);
    }

    /// <summary>True when a <c>msg</c> frame is for <paramref name="topic"/> (ASCII bytes; topics need no escaping).</summary>
    public static bool IsForTopic(ReadOnlySpan<byte> frame, ReadOnlySpan<byte> topic) =>
        frame.StartsWith(MessageTopicKey) &&
        frame[MessageTopicKey.Length..].StartsWith(topic) &&
        frame.Length > MessageTopicKey.Length + topic.Length &&
        frame[MessageTopicKey.Length + topic.Length] == (byte)'"';

    /// <summary><c>node</c> of a <c>hello</c> frame.</summary>
    public static string? HelloNode(ReadOnlySpan<byte> frame)
    {
        using var doc = Parse(frame);
        return doc?.RootElement.TryGetProperty("node", out var node) == true ? node.GetString() : null;
    }

    /// <summary><c>code</c> of an <c>err</c> frame.</summary>
    public static string? ErrorCode(ReadOnlySpan<byte> frame)
    {
        using var doc = Parse(frame);
        return doc?.RootElement.TryGetProperty("code", out var code) == true ? code.GetString() : null;
    }

    /// <summary><c>after_ms</c> and, when present, the cursor announced for <paramref name="topic"/> of a <c>reconnect</c> frame.</summary>
    public static (int AfterMs, ulong? Cursor, string? Reason) Reconnect(ReadOnlySpan<byte> frame, string topic)
    {
        using var doc = Parse(frame);
        if (doc is null)
        {
            return (0, null, null);
        }

        var root = doc.RootElement;
        var afterMs = root.TryGetProperty("after_ms", out var after) && after.TryGetInt32(out var ms) ? Math.Max(0, ms) : 0;
        ulong? cursor = root.TryGetProperty("cursors", out var cursors) && cursors.ValueKind == JsonValueKind.Object &&
            cursors.TryGetProperty(topic, out var c) && c.TryGetUInt64(out var value) ? value : null;
        var reason = root.TryGetProperty("reason", out var r) ? r.GetString() : null;
        return (afterMs, cursor, reason);
    }

    private static JsonDocument? Parse(ReadOnlySpan<byte> frame)
    {
        try
        {
            return JsonDocument.Parse(frame.ToArray());
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
