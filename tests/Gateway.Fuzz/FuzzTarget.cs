using System.Buffers;
using System.Text;
using PubSubGateway.Protocol;
using PubSubGateway.Security;
using PubSubGateway.Topics;

namespace PubSubGateway.Fuzz;

/// <summary>A property of the code under test did not hold: afl-fuzz records the input as a crash.</summary>
internal sealed class FuzzPropertyException(string message) : Exception(message);

/// <summary>
/// One fuzz input exercises every target, so a single corpus serves them all:
/// <list type="bullet">
/// <item>the whole input as a client frame (<see cref="ClientFrameParser.Parse"/>) and as a payload
/// (<see cref="JsonPayload.IsValid(ReadOnlySpan{byte})"/>, one segment and split in two);</item>
/// <item>the input as UTF-8 text, cut at '\n' into up to three strings (granted pattern, requested
/// pattern, concrete topic), through <see cref="TopicRules.Validate"/>, <see cref="TopicPattern.Matches"/>
/// and <see cref="Permissions.Covers"/>, checked against each other and against a slow reference
/// matcher written here from the protocol's grammar;</item>
/// <item>the topic of a frame that parsed, through the same topic checks;</item>
/// <item>the input as the head of a raw WebSocket upgrade (<see cref="PubSubGateway.Connections.UpgradeRequest.TryParse"/>).</item>
/// </list>
/// Nothing may throw, and every property is an assert: a violation throws <see cref="FuzzPropertyException"/>.
/// </summary>
internal static class FuzzTarget
{
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    public static void Run(ReadOnlySpan<byte> input)
    {
        CheckFrame(input, ClientFrameParser.DefaultMaxDepth, out var topic);
        CheckFrame(input, 2, out _);
        CheckPayload(input);
        CheckUpgradeHead(input);

        var text = Utf8.GetString(input);
        var parts = text.Split('\n', 3);
        CheckTopics(parts);
        if (topic is not null)
        {
            CheckTopics([topic]);
        }
    }

    private static void CheckFrame(ReadOnlySpan<byte> frame, int maxDepth, out string? topic)
    {
        var result = ClientFrameParser.Parse(frame, maxDepth);
        var f = result.Frame;
        topic = null;
        if (!result.Ok)
        {
            Assert(result.ErrorMessage is not null, "an error result has no message");
            Assert(f.Op == ClientOp.Unknown && f.DataLength == 0 && f.Topic is null, "an error result carries frame fields");
            Assert(f.Id is null || f.Id.Length <= ClientFrameParser.MaxIdLength, "an error echoes an over-long id");
            return;
        }

        Assert(result.ErrorMessage is null, "an Ok result has an error message");
        Assert(JsonPayload.IsValid(frame, maxDepth), "Parse accepted a frame that is not one JSON value within the depth limit");
        var trimmed = frame.TrimStart(" \t\r\n"u8);
        Assert(trimmed.Length > 0 && trimmed[0] == (byte)'{', "Parse accepted a frame that is not an object");
        Assert(f.OpName is not null, "an Ok frame has no op");
        Assert(f.Id is null || f.Id.Length <= ClientFrameParser.MaxIdLength, "an Ok frame has an over-long id");
        Assert(f.DataStart >= 0 && f.DataLength >= 0, $"data range is negative: {f.DataStart}+{f.DataLength}");
        Assert((long)f.DataStart + f.DataLength <= frame.Length, $"data range {f.DataStart}+{f.DataLength} is outside the {frame.Length}-byte frame");
        if (f.DataLength > 0)
        {
            Assert(JsonPayload.IsValid(frame.Slice(f.DataStart, f.DataLength)), "the data slice is not valid JSON");
        }

        Assert(f.Op is not (ClientOp.Sub or ClientOp.Unsub or ClientOp.Pub) || f.Topic is not null, $"'{f.OpName}' has no topic");
        Assert(f.Op != ClientOp.Pub || f.HasData, "'pub' has no data");
        Assert(f.Op != ClientOp.Auth || f.Token is not null, "'auth' has no token");
        Assert(f.Since is null or >= 0, "since is negative");
        topic = f.Topic;
    }

    /// <summary>Whatever the bytes, the handshake parser returns null or a request whose fields are what the raw path relies on.</summary>
    private static void CheckUpgradeHead(ReadOnlySpan<byte> head)
    {
        var request = PubSubGateway.Connections.UpgradeRequest.TryParse(head);
        if (request is null)
        {
            return;
        }

        Assert(head.StartsWith("GET /ws"u8), "accepted a request line that is not GET /ws");
        Assert(head.IndexOf("\r\n\r\n"u8) >= 0, "accepted a head without the blank line");
        Assert(request.Key.Length == 24 && Convert.TryFromBase64String(request.Key, new byte[18], out var keyBytes) && keyBytes == 16, "accepted a bad Sec-WebSocket-Key");
        Assert(request.Query is null || !request.Query.Contains(' ', StringComparison.Ordinal), "a query with a space");
        foreach (var protocol in request.Protocols)
        {
            Assert(protocol.Length > 0 && !protocol.Contains(',', StringComparison.Ordinal) && protocol == protocol.Trim(), $"a subprotocol entry that is not one trimmed token: '{protocol}'");
        }

        foreach (var value in new[] { request.Origin, request.Authorization, request.ForwardedFor, request.Query })
        {
            Assert(value is null || value.All(c => c is >= ' ' and < (char)0x7F or '\t'), "a header value with control or non-ASCII characters");
        }
    }

    private static void CheckPayload(ReadOnlySpan<byte> payload)
    {
        var valid = JsonPayload.IsValid(payload);
        var validShallow = JsonPayload.IsValid(payload, 4);
        Assert(!validShallow || valid, "valid at depth 4 but not at depth 256");

        // The multi-segment path (payloads from NATS arrive as sequences) must agree with the span path.
        if (payload.Length >= 2)
        {
            var array = payload.ToArray();
            var cut = array.Length / 2;
            var first = new Segment(array.AsMemory(0, cut));
            var last = first.Append(array.AsMemory(cut));
            var sequence = new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
            Assert(JsonPayload.IsValid(sequence) == valid, "the two-segment payload check disagrees with the span check");
        }
    }

    private static void CheckTopics(string[] parts)
    {
        foreach (var s in parts)
        {
            CheckOne(s);
        }

        foreach (var a in parts)
        {
            foreach (var b in parts)
            {
                CheckPair(a, b, parts);
            }
        }

        if (parts.Length == 3 && IsPattern(parts[0]) && IsPattern(parts[1]) && IsPattern(parts[2])
            && Permissions.Covers(parts[0], parts[1]) && Permissions.Covers(parts[1], parts[2]))
        {
            Assert(Permissions.Covers(parts[0], parts[2]), $"Covers is not transitive: '{parts[0]}' ⊇ '{parts[1]}' ⊇ '{parts[2]}'");
        }
    }

    private static void CheckOne(string s)
    {
        var concrete = TopicRules.Validate(s, allowWildcards: false);
        var pattern = TopicRules.Validate(s, allowWildcards: true);
        var small = TopicRules.Validate(s, allowWildcards: true, maxBytes: 8, maxTokens: 2);
        _ = TopicRules.Describe(concrete);
        _ = TopicRules.HasWildcard(s);
        var reference = ReferenceValidate(s, allowWildcards: true, 256, 16);
        Assert((pattern == TopicError.None) == reference, $"Validate('{s}', wildcards) = {pattern}, reference says {(reference ? "valid" : "invalid")}");
        Assert((concrete == TopicError.None) == ReferenceValidate(s, allowWildcards: false, 256, 16), $"Validate('{s}') = {concrete} disagrees with the reference");
        Assert((small == TopicError.None) == ReferenceValidate(s, allowWildcards: true, 8, 2), $"Validate('{s}', 8 bytes, 2 tokens) = {small} disagrees with the reference");

        if (concrete == TopicError.None)
        {
            Assert(pattern == TopicError.None, $"'{s}' is a valid topic but not a valid pattern");
            Assert(!TopicRules.HasWildcard(s), $"valid concrete topic '{s}' has a wildcard");
            Assert(Encoding.UTF8.GetByteCount(s) == s.Length, $"valid topic '{s}' is not ASCII");
            Assert(TopicPattern.Matches(s, s), $"topic '{s}' does not match itself");
            Assert(TopicPattern.Matches(">", s), $"'>' does not match '{s}'");
            Assert(Permissions.Covers(">", s), $"'>' does not cover '{s}'");
        }

        if (pattern == TopicError.None)
        {
            Assert(Permissions.Covers(s, s), $"pattern '{s}' does not cover itself");
            Assert(Permissions.Covers(">", s), $"'>' does not cover '{s}'");
            Assert(s == ">" || !Permissions.Covers(s, ">"), $"'{s}' covers '>'");
        }
    }

    private static void CheckPair(string a, string b, string[] parts)
    {
        // Never throws, whatever the strings.
        var matches = TopicPattern.Matches(a, b);
        var covers = Permissions.Covers(a, b);

        var aPattern = IsPattern(a);
        var bPattern = IsPattern(b);
        var bConcrete = TopicRules.Validate(b, allowWildcards: false) == TopicError.None;
        if (aPattern && bConcrete)
        {
            Assert(matches == ReferenceMatches(a, b), $"Matches('{a}', '{b}') = {matches} disagrees with the reference");
            // CanPublish relies on this: for a concrete topic, coverage is plain matching.
            Assert(covers == matches, $"Covers('{a}', '{b}') = {covers} but Matches = {matches}");
            if (TopicRules.Validate(a, allowWildcards: false) == TopicError.None)
            {
                Assert(matches == (a == b), $"concrete '{a}' vs '{b}': Matches = {matches}");
            }
        }

        if (!aPattern || !bPattern)
        {
            return;
        }

        Assert(covers == ReferenceCovers(a, b), $"Covers('{a}', '{b}') = {covers} disagrees with the reference");
        if (!covers)
        {
            return;
        }

        // Soundness: every concrete topic the requested pattern b matches, the granted a matches too.
        foreach (var topic in TopicsOf(b, a, parts))
        {
            if (TopicRules.Validate(topic, allowWildcards: false) != TopicError.None)
            {
                continue;
            }

            Assert(TopicPattern.Matches(b, topic), $"generated topic '{topic}' does not match its pattern '{b}'");
            Assert(TopicPattern.Matches(a, topic), $"Covers('{a}', '{b}') but '{topic}' matches '{b}' and not '{a}'");
        }

        // The input's own third line, when it is a topic that b matches.
        if (parts.Length == 3 && TopicRules.Validate(parts[2], allowWildcards: false) == TopicError.None && TopicPattern.Matches(b, parts[2]))
        {
            Assert(TopicPattern.Matches(a, parts[2]), $"Covers('{a}', '{b}') but '{parts[2]}' matches '{b}' and not '{a}'");
        }
    }

    private static bool IsPattern(string s) => TopicRules.Validate(s, allowWildcards: true) == TopicError.None;

    /// <summary>Concrete topics matched by <paramref name="pattern"/>, with wildcards filled from fixed tokens, the other pattern and the input.</summary>
    private static IEnumerable<string> TopicsOf(string pattern, string other, string[] parts)
    {
        var tokens = pattern.Split('.');
        var otherTokens = other.Split('.');
        var extra = parts.Length == 3 ? parts[2].Split('.') : ["q"];
        for (var variant = 0; variant < 5; variant++)
        {
            var sb = new StringBuilder();
            for (var i = 0; i < tokens.Length; i++)
            {
                if (i > 0)
                {
                    sb.Append('.');
                }

                var fromOther = i < otherTokens.Length && otherTokens[i] is not ("*" or ">") ? otherTokens[i] : "o";
                var fromInput = extra[i % extra.Length];
                switch (tokens[i])
                {
                    case "*":
                        sb.Append(variant switch { 0 => "x", 1 => fromOther, 2 => "_", 3 => fromInput, _ => "*" });
                        break;
                    case ">":
                        sb.Append(variant switch
                        {
                            0 => "x",
                            1 => string.Join('.', otherTokens.Skip(i).Select(t => t is "*" or ">" ? "o" : t).DefaultIfEmpty("o")),
                            2 => "x.y",
                            3 => parts.Length == 3 ? parts[2] : "x.y.z",
                            _ => ">",
                        });
                        break;
                    default:
                        sb.Append(tokens[i]);
                        break;
                }
            }

            yield return sb.ToString();
        }
    }

    // ---- Reference implementations, written from the protocol text, slow and obvious. ----

    private static bool ReferenceValidate(string s, bool allowWildcards, int maxBytes, int maxTokens)
    {
        if (s.Length == 0 || s.Length > maxBytes)
        {
            return false;
        }

        var tokens = s.Split('.');
        if (tokens.Length > maxTokens)
        {
            return false;
        }

        for (var i = 0; i < tokens.Length; i++)
        {
            var t = tokens[i];
            if (t == "*" || (t == ">" && i == tokens.Length - 1))
            {
                if (!allowWildcards)
                {
                    return false;
                }

                continue;
            }

            if (t.Length == 0 || !t.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool ReferenceMatches(string pattern, string topic)
    {
        var p = pattern.Split('.');
        var t = topic.Split('.');
        if (p[^1] == ">")
        {
            return t.Length >= p.Length && p[..^1].Select((x, i) => x == "*" || x == t[i]).All(ok => ok);
        }

        return t.Length == p.Length && p.Select((x, i) => x == "*" || x == t[i]).All(ok => ok);
    }

    private static bool ReferenceCovers(string granted, string requested)
    {
        var g = granted.Split('.');
        var r = requested.Split('.');
        bool TokenCovered(string gt, string rt) => gt == "*" ? rt != ">" : gt == rt && rt is not ("*" or ">");
        if (g[^1] == ">")
        {
            return r.Length >= g.Length && g[..^1].Select((x, i) => TokenCovered(x, r[i])).All(ok => ok);
        }

        return r.Length == g.Length && g.Select((x, i) => TokenCovered(x, r[i])).All(ok => ok);
    }

    private static void Assert(bool condition, string message)
    {
        if (!condition)
        {
            throw new FuzzPropertyException(message);
        }
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
