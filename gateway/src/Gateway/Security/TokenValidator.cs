using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using PubSubGateway.Topics;

namespace PubSubGateway.Security;

/// <summary>
/// Validates JWTs (HS256 with a shared secret, RS256/ES256 with public keys from a PEM file or a
/// JWKS file/URL), checks issuer, audience and expiry, and turns claims into permissions.
/// <c>alg: none</c> and algorithm/key mismatches are refused by the handler because signed tokens
/// are required and each key only verifies its own algorithm family.
/// </summary>
internal sealed partial class TokenValidator : IDisposable
{
    private static readonly string[] Algorithms = [SecurityAlgorithms.HmacSha256, SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256];

    private readonly AuthOptions _options;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };
    private readonly IReadOnlyList<SecurityKey> _staticKeys;
    private readonly ILogger<TokenValidator> _logger;
    private readonly HttpClient? _jwksClient;
    private IReadOnlyList<SecurityKey> _jwksKeys = [];

    public TokenValidator(IOptions<AuthOptions> options, ILogger<TokenValidator> logger)
    {
        _options = options.Value;
        _logger = logger;
        _staticKeys = LoadStaticKeys(_options.Jwt);
        if (!string.IsNullOrEmpty(_options.Jwt.JwksUrl))
        {
            _jwksClient = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        }

        AnonymousIdentity = ClientIdentity.Anonymous(new Permissions(_options.Anonymous.EffectiveSubscribe, _options.Anonymous.EffectivePublish));
    }

    public bool Required => _options.IsRequired;

    public bool Enabled => _options.Jwt.HasKey;

    public ClientIdentity AnonymousIdentity { get; }

    public async Task<AuthResult> ValidateAsync(string token)
    {
        if (!Enabled)
        {
            return AuthResult.Fail("this server does not accept tokens");
        }

        if (token.Length > 16 * 1024)
        {
            return AuthResult.Fail("token too large");
        }

        var jwt = _options.Jwt;
        var parameters = new TokenValidationParameters
        {
            IssuerSigningKeys = [.. _staticKeys, .. Volatile.Read(ref _jwksKeys)],
            ValidAlgorithms = Algorithms,
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = TimeSpan.FromSeconds(jwt.ClockSkewSeconds),
            ValidateIssuer = !string.IsNullOrEmpty(jwt.Issuer),
            ValidIssuer = jwt.Issuer,
            ValidateAudience = !string.IsNullOrEmpty(jwt.Audience),
            ValidAudience = jwt.Audience,
            ValidateIssuerSigningKey = true,
        };

        var result = await _handler.ValidateTokenAsync(token, parameters);
        if (!result.IsValid)
        {
            return AuthResult.Fail(Describe(result.Exception));
        }

        var token2 = (JsonWebToken)result.SecurityToken;
        var identity = result.ClaimsIdentity;
        var subject = string.IsNullOrEmpty(token2.Subject) ? null : token2.Subject;
        var permissions = new Permissions(Patterns(identity, jwt.SubscribeClaim, subject), Patterns(identity, jwt.PublishClaim, subject));
        var roles = identity.FindAll("roles").Concat(identity.FindAll("role"))
            .SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .ToHashSet(StringComparer.Ordinal);
        return new AuthResult(new ClientIdentity(subject, new DateTimeOffset(token2.ValidTo, TimeSpan.Zero), permissions, roles), null);
    }

    /// <summary>Fetches the JWKS document when a URL is configured; keeps the previous keys on failure.</summary>
    public async Task RefreshJwksAsync(CancellationToken cancellationToken)
    {
        if (_jwksClient is null)
        {
            return;
        }

        try
        {
            var json = await _jwksClient.GetStringAsync(new Uri(_options.Jwt.JwksUrl!), cancellationToken);
            Volatile.Write(ref _jwksKeys, [.. new JsonWebKeySet(json).GetSigningKeys()]);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or ArgumentException or System.Text.Json.JsonException)
        {
            Log.JwksFetchFailed(_logger, ex.GetType().Name);
        }
    }

    public void Dispose() => _jwksClient?.Dispose();

    /// <summary>Claim values (JSON array or space-separated), with <c>{sub}</c> replaced; invalid patterns are dropped.</summary>
    private static List<string> Patterns(ClaimsIdentity identity, string claim, string? subject)
    {
        var patterns = new List<string>();
        foreach (var value in identity.FindAll(claim).SelectMany(c => c.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)))
        {
            var pattern = value;
            if (pattern.Contains("{sub}", StringComparison.Ordinal))
            {
                if (subject is null || TopicRules.Validate(subject, allowWildcards: false, maxTokens: 1) != TopicError.None)
                {
                    continue;
                }

                pattern = pattern.Replace("{sub}", subject, StringComparison.Ordinal);
            }

            if (TopicRules.Validate(pattern, allowWildcards: true) == TopicError.None)
            {
                patterns.Add(pattern);
            }
        }

        return patterns;
    }

    private static string Describe(Exception? exception) => exception switch
    {
        SecurityTokenExpiredException => "token expired",
        SecurityTokenNotYetValidException => "token not yet valid",
        SecurityTokenNoExpirationException => "token has no expiry",
        SecurityTokenInvalidIssuerException => "wrong issuer",
        SecurityTokenInvalidAudienceException => "wrong audience",
        SecurityTokenInvalidAlgorithmException => "algorithm not allowed",
        SecurityTokenInvalidSignatureException or SecurityTokenSignatureKeyNotFoundException => "invalid signature",
        SecurityTokenMalformedException => "malformed token",
        _ => "invalid token",
    };

    private static List<SecurityKey> LoadStaticKeys(JwtOptions jwt)
    {
        var keys = new List<SecurityKey>();
        if (!string.IsNullOrEmpty(jwt.Secret))
        {
            keys.Add(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(jwt.Secret)));
        }

        if (!string.IsNullOrEmpty(jwt.PublicKeyFile))
        {
            keys.Add(LoadPem(File.ReadAllText(jwt.PublicKeyFile)));
        }

        if (!string.IsNullOrEmpty(jwt.JwksFile))
        {
            keys.AddRange(new JsonWebKeySet(File.ReadAllText(jwt.JwksFile)).GetSigningKeys());
        }

        return keys;
    }

    /// <summary>An RSA or EC public key in PEM; throws <see cref="CryptographicException"/> otherwise.</summary>
    internal static SecurityKey LoadPem(string pem)
    {
        try
        {
            var rsa = RSA.Create();
            rsa.ImportFromPem(pem);
            return new RsaSecurityKey(rsa);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            var ec = ECDsa.Create();
            ec.ImportFromPem(pem);
            return new ECDsaSecurityKey(ec);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(40, LogLevel.Warning, "Fetching the JWKS failed ({Error}); keeping the previous keys", EventName = "JwksFetchFailed")]
        public static partial void JwksFetchFailed(ILogger logger, string error);
    }
}
