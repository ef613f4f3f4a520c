namespace PubSubGateway.Security;

/// <summary>
/// Topic patterns a client was granted. A subscription is allowed only when a granted pattern
/// covers every topic the requested pattern could match: <c>chat.&gt;</c> covers <c>chat.*</c> and
/// <c>chat.a.&gt;</c> but not <c>&gt;</c>; <c>chat.*</c> covers <c>chat.a</c> but not <c>chat.&gt;</c>.
/// </summary>
internal sealed class Permissions(IReadOnlyList<string> subscribe, IReadOnlyList<string> publish)
{
    public static readonly Permissions None = new([], []);

    public IReadOnlyList<string> Subscribe { get; } = subscribe;

    public IReadOnlyList<string> Publish { get; } = publish;

    public bool CanSubscribe(string pattern)
    {
        foreach (var granted in Subscribe)
        {
            if (Covers(granted, pattern))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>A publish names a concrete topic (no wildcards), so plain matching is coverage.</summary>
    public bool CanPublish(string topic)
    {
        foreach (var granted in Publish)
        {
            if (Covers(granted, topic))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when every topic matched by <paramref name="requested"/> is matched by <paramref name="granted"/>.</summary>
    public static bool Covers(ReadOnlySpan<char> granted, ReadOnlySpan<char> requested)
    {
        while (true)
        {
            var gEnd = granted.IndexOf('.');
            var gToken = gEnd < 0 ? granted : granted[..gEnd];
            if (gToken is ">")
            {
                return !requested.IsEmpty;
            }

            if (requested.IsEmpty)
            {
                return false;
            }

            var rEnd = requested.IndexOf('.');
            var rToken = rEnd < 0 ? requested : requested[..rEnd];
            var tokenCovered = gToken is "*" ? rToken is not ">" : gToken.SequenceEqual(rToken) && rToken is not ("*" or ">");
            if (!tokenCovered)
            {
                return false;
            }

            if (gEnd < 0 || rEnd < 0)
            {
                return gEnd < 0 && rEnd < 0;
            }

            granted = granted[(gEnd + 1)..];
            requested = requested[(rEnd + 1)..];
        }
    }
}
