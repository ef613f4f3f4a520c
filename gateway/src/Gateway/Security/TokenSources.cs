using Microsoft.Extensions.Primitives;

namespace PubSubGateway.Security;

/// <summary>
/// Where a client may put its token: <c>Authorization: Bearer</c>, the <c>access_token</c> query
/// parameter, or (for browsers, which cannot set headers on a WebSocket) a
/// <c>Sec-WebSocket-Protocol</c> entry <c>bearer.&lt;token&gt;</c> offered next to <c>pubsub.v1.json</c>.
/// </summary>
internal static class TokenSources
{
    public const string SubProtocolPrefix = "bearer.";

    public static string? Find(HttpRequest request, IList<string>? offeredSubProtocols) =>
        Find(
            request.Headers.Authorization.ToString(),
            request.Query.TryGetValue("access_token", out StringValues query) && !StringValues.IsNullOrEmpty(query) ? query.ToString() : null,
            offeredSubProtocols);

    /// <param name="authorization">The Authorization header, if any.</param>
    /// <param name="accessToken">The <c>access_token</c> query parameter, if any.</param>
    /// <param name="offeredSubProtocols">The Sec-WebSocket-Protocol entries offered.</param>
    public static string? Find(string? authorization, string? accessToken, IEnumerable<string>? offeredSubProtocols)
    {
        if (authorization is not null && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }

        if (accessToken is not null)
        {
            return accessToken;
        }

        if (offeredSubProtocols is not null)
        {
            foreach (var protocol in offeredSubProtocols)
            {
                if (protocol.StartsWith(SubProtocolPrefix, StringComparison.Ordinal))
                {
                    return protocol[SubProtocolPrefix.Length..];
                }
            }
        }

        return null;
    }
}
