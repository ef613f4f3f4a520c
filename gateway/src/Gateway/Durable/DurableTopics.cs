using Microsoft.Extensions.Options;
using PubSubGateway.Security;

namespace PubSubGateway.Durable;

/// <summary>
/// Decides whether a topic or subscription pattern is durable: only when a configured pattern
/// covers every topic it can match. A subscription that straddles durable and plain topics (say
/// <c>&gt;</c> with <c>orders.&gt;</c> durable) is served on the plain path, without <c>seq</c>.
/// </summary>
internal sealed class DurableTopics(IOptions<DurableOptions> options)
{
    private readonly string[] _patterns = [.. options.Value.Patterns];

    public bool Enabled => _patterns.Length > 0;

    public bool IsDurable(string topicOrPattern)
    {
        foreach (var pattern in _patterns)
        {
            if (Permissions.Covers(pattern, topicOrPattern))
            {
                return true;
            }
        }

        return false;
    }
}
