using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace PubSubGateway.Tests.Infrastructure;

/// <summary>Mints JWTs for tests, good and bad.</summary>
public static class Tokens
{
    public const string Secret = "test-secret-that-is-at-least-32-bytes-long!";
    public const string Issuer = "https://issuer.test";
    public const string Audience = "pubsub-gateway";

    public static string Hs256(
        string subject = "alice",
        string[]? sub = null,
        string[]? pub = null,
        string[]? roles = null,
        TimeSpan? lifetime = null,
        string secret = Secret,
        string issuer = Issuer,
        string audience = Audience,
        DateTime? notBefore = null,
        bool withExpiry = true) =>
        Create(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(secret)), SecurityAlgorithms.HmacSha256, subject, sub, pub, roles, lifetime, issuer, audience, notBefore, withExpiry);

    public static string SignedWith(SecurityKey key, string algorithm, string subject = "alice", string[]? sub = null, TimeSpan? lifetime = null) =>
        Create(key, algorithm, subject, sub ?? [">"], [">"], null, lifetime, Issuer, Audience, null, true);

    /// <summary>An unsigned token (<c>alg: none</c>) with generous claims.</summary>
    public static string AlgNone(string subject = "mallory")
    {
        static string B64(string json) => Base64UrlEncoder.Encode(Encoding.UTF8.GetBytes(json));
        var exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds();
        return B64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." +
            B64($"{{\"sub\":\"{subject}\",\"iss\":\"{Issuer}\",\"aud\":\"{Audience}\",\"exp\":{exp},\"sub_topics\":[\">\"],\"pub_topics\":[\">\"]}}") + ".";
    }

    private static string Create(SecurityKey key, string algorithm, string subject, string[]? sub, string[]? pub, string[]? roles,
        TimeSpan? lifetime, string issuer, string audience, DateTime? notBefore, bool withExpiry)
    {
        var claims = new Dictionary<string, object>
        {
            ["sub"] = subject,
            ["sub_topics"] = sub ?? ["public.>", "chat.>", "user.{sub}.>"],
            ["pub_topics"] = pub ?? ["chat.>"],
        };
        if (roles is not null)
        {
            claims["roles"] = roles;
        }

        var now = DateTime.UtcNow;
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            Claims = claims,
            SigningCredentials = new SigningCredentials(key, algorithm),
            IssuedAt = notBefore ?? now.AddMinutes(-1),
            NotBefore = notBefore ?? now.AddMinutes(-1),
        };
        if (withExpiry)
        {
            descriptor.Expires = (notBefore ?? now) + (lifetime ?? TimeSpan.FromHours(1));
        }

        return new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = withExpiry }.CreateToken(descriptor);
    }

    public static RsaSecurityKey NewRsaKey() => new(RSA.Create(2048));

    public static ECDsaSecurityKey NewEcKey() => new(ECDsa.Create(ECCurve.NamedCurves.nistP256));
}
