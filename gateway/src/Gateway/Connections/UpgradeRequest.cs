using System.Text;

namespace PubSubGateway.Connections;

/// <summary>
/// The head of an HTTP/1.1 WebSocket upgrade to <c>/ws</c>, parsed from raw bytes by
/// <see cref="RawUpgradeMiddleware"/>. The parser is deliberately narrow: anything that is not a
/// plain, well-formed <c>GET /ws</c> upgrade (other paths, HTTP/1.0, a body, obsolete line folding,
/// bytes outside printable ASCII, a repeated key, a bad key or version) yields null, and the
/// connection goes to the ordinary HTTP pipeline, which answers it exactly as before.
/// </summary>
internal sealed class UpgradeRequest
{
    private UpgradeRequest(string key, List<string> protocols)
    {
        Key = key;
        Protocols = protocols;
    }

    /// <summary>The request line starts with this when the request may be ours.</summary>
    public static ReadOnlySpan<byte> Prefix => "GET /ws"u8;

    public string Key { get; }

    /// <summary>The query string without the leading <c>?</c>, or null.</summary>
    public string? Query { get; private set; }

    public string? Origin { get; private set; }

    public string? Authorization { get; private set; }

    public string? ForwardedFor { get; private set; }

    /// <summary>Every <c>Sec-WebSocket-Protocol</c> entry offered, in order.</summary>
    public IReadOnlyList<string> Protocols { get; }

    /// <summary>Parses a complete head (request line and headers, the final blank line included).</summary>
    public static UpgradeRequest? TryParse(ReadOnlySpan<byte> head)
    {
        var lineEnd = head.IndexOf("\r\n"u8);
        if (lineEnd < 0 || !TryParseRequestLine(head[..lineEnd], out var query))
        {
            return null;
        }

        string? key = null, version = null, host = null, upgrade = null, connection = null;
        string? origin = null, authorization = null, forwardedFor = null;
        var protocols = new List<string>();
        var rest = head[(lineEnd + 2)..];
        while (true)
        {
            lineEnd = rest.IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                return null;
            }

            if (lineEnd == 0)
            {
                break;
            }

            var line = rest[..lineEnd];
            rest = rest[(lineEnd + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]) || !IsFieldValue(line[(colon + 1)..]))
            {
                return null;
            }

            var name = line[..colon];
            var value = Encoding.ASCII.GetString(line[(colon + 1)..].Trim(" \t"u8));
            var ok = true;
            if (Is(name, "sec-websocket-key"u8))
            {
                ok = Once(ref key, value);
            }
            else if (Is(name, "sec-websocket-version"u8))
            {
                ok = Once(ref version, value);
            }
            else if (Is(name, "host"u8))
            {
                ok = Once(ref host, value);
            }
            else if (Is(name, "origin"u8))
            {
                ok = Once(ref origin, value);
            }
            else if (Is(name, "authorization"u8))
            {
                ok = Once(ref authorization, value);
            }
            else if (Is(name, "upgrade"u8))
            {
                upgrade = upgrade is null ? value : upgrade + "," + value;
            }
            else if (Is(name, "connection"u8))
            {
                connection = connection is null ? value : connection + "," + value;
            }
            else if (Is(name, "x-forwarded-for"u8))
            {
                forwardedFor = forwardedFor is null ? value : forwardedFor + "," + value;
            }
            else if (Is(name, "sec-websocket-protocol"u8))
            {
                protocols.AddRange(value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
            }
            else if (Is(name, "content-length"u8) || Is(name, "transfer-encoding"u8))
            {
                ok = false;
            }

            if (!ok)
            {
                return null;
            }
        }

        if (host is null || version != "13" || key is null || !IsValidKey(key)
            || !HasToken(upgrade, "websocket") || !HasToken(connection, "upgrade"))
        {
            return null;
        }

        return new UpgradeRequest(key, protocols)
        {
            Query = query,
            Origin = origin,
            Authorization = authorization,
            ForwardedFor = forwardedFor,
        };
    }

    /// <summary><c>GET /ws HTTP/1.1</c> or <c>GET /ws?query HTTP/1.1</c>.</summary>
    private static bool TryParseRequestLine(ReadOnlySpan<byte> line, out string? query)
    {
        query = null;
        const int pathEnd = 7;
        var version = " HTTP/1.1"u8;
        if (!line.StartsWith(Prefix) || !line.EndsWith(version) || line.Length < pathEnd + version.Length)
        {
            return false;
        }

        var target = line[pathEnd..^version.Length];
        if (target.IsEmpty)
        {
            return true;
        }

        if (target[0] != (byte)'?')
        {
            return false;
        }

        foreach (var b in target)
        {
            if (b is <= 0x20 or >= 0x7F)
            {
                return false;
            }
        }

        query = Encoding.ASCII.GetString(target[1..]);
        return true;
    }

    private static bool Once(ref string? field, string value)
    {
        if (field is not null)
        {
            return false;
        }

        field = value;
        return true;
    }

    private static bool Is(ReadOnlySpan<byte> name, ReadOnlySpan<byte> lowerCase) =>
        name.Length == lowerCase.Length && Ascii.EqualsIgnoreCase(name, lowerCase);

    private static bool HasToken(string? list, string token)
    {
        if (list is null)
        {
            return false;
        }

        foreach (var part in list.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.Equals(token, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>RFC 6455: the key is 16 random bytes, base64-encoded.</summary>
    private static bool IsValidKey(string key)
    {
        Span<byte> decoded = stackalloc byte[18];
        return key.Length == 24 && Convert.TryFromBase64String(key, decoded, out var length) && length == 16;
    }

    /// <summary>RFC 9110 token characters.</summary>
    private static bool IsToken(ReadOnlySpan<byte> name)
    {
        foreach (var b in name)
        {
            if (!(char.IsAsciiLetterOrDigit((char)b) || "!#$%&'*+-.^_`|~"u8.Contains(b)))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Printable ASCII, space and tab; obs-text and control bytes go to the HTTP pipeline.</summary>
    private static bool IsFieldValue(ReadOnlySpan<byte> value)
    {
        foreach (var b in value)
        {
            if (b != (byte)'\t' && b is < 0x20 or >= 0x7F)
            {
                return false;
            }
        }

        return true;
    }
}
