namespace PubSubGateway.Topics;

/// <summary>Why a topic was refused; <see cref="None"/> when it is valid.</summary>
internal enum TopicError
{
    None,
    Empty,
    TooLong,
    TooDeep,
    EmptyToken,
    BadCharacter,
    WildcardNotAllowed,
    MisplacedWildcard,
}

/// <summary>
/// Topic grammar from the protocol: 1–16 tokens of <c>[A-Za-z0-9_-]</c> joined by '.', at most
/// 256 bytes. Subscriptions may use <c>*</c> for one whole token and <c>&gt;</c> as the last token.
/// Every accepted character is ASCII and needs no JSON escaping, which is what lets fan-out splice
/// the topic into a frame as raw bytes.
/// </summary>
internal static class TopicRules
{
    public const int ProtocolMaxBytes = 256;
    public const int ProtocolMaxTokens = 16;

    public static TopicError Validate(ReadOnlySpan<char> topic, bool allowWildcards, int maxBytes = ProtocolMaxBytes, int maxTokens = ProtocolMaxTokens)
    {
        if (topic.IsEmpty)
        {
            return TopicError.Empty;
        }

        if (topic.Length > maxBytes)
        {
            return TopicError.TooLong;
        }

        var tokens = 0;
        var tokenStart = 0;
        for (var i = 0; i <= topic.Length; i++)
        {
            if (i < topic.Length && topic[i] != '.')
            {
                continue;
            }

            var token = topic[tokenStart..i];
            tokens++;
            if (tokens > maxTokens)
            {
                return TopicError.TooDeep;
            }

            var error = ValidateToken(token, allowWildcards, isLast: i == topic.Length);
            if (error != TopicError.None)
            {
                return error;
            }

            tokenStart = i + 1;
        }

        return TopicError.None;
    }

    public static bool HasWildcard(ReadOnlySpan<char> topic) => topic.IndexOfAny('*', '>') >= 0;

    public static bool IsValidPrefix(string? prefix) =>
        prefix is { Length: > 0 and <= 64 } && Validate(prefix, allowWildcards: false) == TopicError.None;

    public static string Describe(TopicError error) => error switch
    {
        TopicError.Empty => "topic is empty",
        TopicError.TooLong => "topic is longer than the limit",
        TopicError.TooDeep => "topic has more tokens than the limit",
        TopicError.EmptyToken => "topic has an empty token (leading, trailing or double '.')",
        TopicError.BadCharacter => "topic tokens may only contain A-Z, a-z, 0-9, '_' and '-'",
        TopicError.WildcardNotAllowed => "wildcards ('*', '>') are not allowed here",
        TopicError.MisplacedWildcard => "'*' must be a whole token and '>' the whole last token",
        _ => "topic is valid",
    };

    private static TopicError ValidateToken(ReadOnlySpan<char> token, bool allowWildcards, bool isLast)
    {
        if (token.IsEmpty)
        {
            return TopicError.EmptyToken;
        }

        if (token.Length == 1 && token[0] is '*' or '>')
        {
            if (!allowWildcards)
            {
                return TopicError.WildcardNotAllowed;
            }

            return token[0] == '>' && !isLast ? TopicError.MisplacedWildcard : TopicError.None;
        }

        foreach (var c in token)
        {
            if (c is '*' or '>')
            {
                return allowWildcards ? TopicError.MisplacedWildcard : TopicError.WildcardNotAllowed;
            }

            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-'))
            {
                return TopicError.BadCharacter;
            }
        }

        return TopicError.None;
    }
}
