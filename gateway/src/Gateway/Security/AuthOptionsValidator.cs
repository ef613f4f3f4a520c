using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using PubSubGateway.Topics;

namespace PubSubGateway.Security;

/// <summary>Checks every <c>Auth:</c> setting (including that key files load) and reports all failures at once.</summary>
internal sealed class AuthOptionsValidator : IValidateOptions<AuthOptions>
{
    public ValidateOptionsResult Validate(string? name, AuthOptions options)
    {
        var errors = new List<string>();
        var jwt = options.Jwt;
        if (options.Required == true && !jwt.HasKey)
        {
            errors.Add("Auth:Required is true but no key is configured: set Auth:Jwt:Secret, Auth:Jwt:PublicKeyFile, Auth:Jwt:JwksFile or Auth:Jwt:JwksUrl.");
        }

        if (jwt.Secret is { Length: > 0 } secret && Encoding.UTF8.GetByteCount(secret) < 32)
        {
            errors.Add("Auth:Jwt:Secret must be at least 32 bytes for HS256.");
        }

        if (jwt.PublicKeyFile is { Length: > 0 } pemFile)
        {
            try
            {
                TokenValidator.LoadPem(File.ReadAllText(pemFile));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
            {
                errors.Add($"Auth:Jwt:PublicKeyFile '{pemFile}' is not a readable RSA or EC public key in PEM ({ex.GetType().Name}).");
            }
        }

        if (jwt.JwksFile is { Length: > 0 } jwksFile)
        {
            try
            {
                if (new JsonWebKeySet(File.ReadAllText(jwksFile)).GetSigningKeys().Count == 0)
                {
                    errors.Add($"Auth:Jwt:JwksFile '{jwksFile}' holds no usable signing key.");
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or System.Text.Json.JsonException)
            {
                errors.Add($"Auth:Jwt:JwksFile '{jwksFile}' is not a readable JWKS document ({ex.GetType().Name}).");
            }
        }

        if (jwt.JwksUrl is { Length: > 0 } url && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            errors.Add($"Auth:Jwt:JwksUrl '{url}' must be an absolute http(s) URL.");
        }

        if (jwt.ClockSkewSeconds is < 0 or > 600)
        {
            errors.Add($"Auth:Jwt:ClockSkewSeconds is {jwt.ClockSkewSeconds}; it must be between 0 and 600.");
        }

        if (jwt.JwksRefreshSeconds is < 10 or > 86_400)
        {
            errors.Add($"Auth:Jwt:JwksRefreshSeconds is {jwt.JwksRefreshSeconds}; it must be between 10 and 86400.");
        }

        foreach (var (key, patterns) in new[] { ("Auth:Anonymous:Subscribe", options.Anonymous.EffectiveSubscribe), ("Auth:Anonymous:Publish", options.Anonymous.EffectivePublish) })
        {
            foreach (var pattern in patterns.Where(p => TopicRules.Validate(p, allowWildcards: true) != TopicError.None))
            {
                errors.Add($"{key} entry '{pattern}' is not a valid topic pattern.");
            }
        }

        if (options.PublishApiKeys.Any(k => k.Length < 16))
        {
            errors.Add("Auth:PublishApiKeys entries must be at least 16 characters.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
