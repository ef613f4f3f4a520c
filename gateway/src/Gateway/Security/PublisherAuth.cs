using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using PubSubGateway.Http;
using PubSubGateway.Protocol;

namespace PubSubGateway.Security;

/// <summary>
/// Who may use the HTTP publish API: a bearer that is one of <c>Auth:PublishApiKeys</c> (compared
/// in constant time), or a JWT carrying the publisher role and a publish permission for the topic.
/// Open to anyone only when no key is configured and auth is not required (development).
/// </summary>
internal sealed class PublisherAuth(IOptions<AuthOptions> options, TokenValidator tokens)
{
    private readonly byte[][] _apiKeys = [.. options.Value.PublishApiKeys.Select(Encoding.UTF8.GetBytes)];

    /// <summary>Null when allowed; otherwise the 401/403 response.</summary>
    public async Task<IResult?> AuthorizeAsync(HttpRequest request, string topic)
    {
        var authorization = request.Headers.Authorization.ToString();
        var bearer = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? authorization["Bearer ".Length..].Trim() : null;
        if (bearer is null)
        {
            if (_apiKeys.Length == 0 && !tokens.Required)
            {
                return tokens.AnonymousIdentity.Permissions.CanPublish(topic) ? null : Forbidden(topic);
            }

            return HttpErrors.Problem(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, "a publisher key or token is required (Authorization: Bearer)");
        }

        var presented = Encoding.UTF8.GetBytes(bearer);
        foreach (var key in _apiKeys)
        {
            if (CryptographicOperations.FixedTimeEquals(presented, key))
            {
                return null;
            }
        }

        if (!tokens.Enabled)
        {
            return HttpErrors.Problem(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, "invalid publisher key");
        }

        var result = await tokens.ValidateAsync(bearer);
        if (!result.Ok)
        {
            return HttpErrors.Problem(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, result.Error!);
        }

        if (!result.Identity!.Roles.Contains(options.Value.PublisherRole))
        {
            return HttpErrors.Problem(StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, $"the token lacks the '{options.Value.PublisherRole}' role");
        }

        return result.Identity.Permissions.CanPublish(topic) ? null : Forbidden(topic);
    }

    private static IResult Forbidden(string topic) =>
        HttpErrors.Problem(StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, $"not allowed to publish to '{topic}'");
}
