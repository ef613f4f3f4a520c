namespace PubSubGateway.Topics;

/// <summary>NATS-style matching of a concrete topic against a pattern with <c>*</c> and <c>&gt;</c>.</summary>
internal static class TopicPattern
{
    public static bool Matches(ReadOnlySpan<char> pattern, ReadOnlySpan<char> topic)
    {
        while (true)
        {
            var pEnd = pattern.IndexOf('.');
            var pToken = pEnd < 0 ? pattern : pattern[..pEnd];
            if (pToken is ">")
            {
                return !topic.IsEmpty;
            }

            if (topic.IsEmpty)
            {
                return false;
            }

            var tEnd = topic.IndexOf('.');
            var tToken = tEnd < 0 ? topic : topic[..tEnd];
            if (pToken is not "*" && !pToken.SequenceEqual(tToken))
            {
                return false;
            }

            if (pEnd < 0 || tEnd < 0)
            {
                return pEnd < 0 && tEnd < 0;
            }

            pattern = pattern[(pEnd + 1)..];
            topic = topic[(tEnd + 1)..];
        }
    }
}
