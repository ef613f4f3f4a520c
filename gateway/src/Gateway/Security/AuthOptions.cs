namespace PubSubGateway.Security;

/// <summary>Settings under <c>Auth:</c>. See docs/security.md for the threat model behind each.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>
    /// Whether a valid token is needed to connect. Defaults to true as soon as a JWT key is
    /// configured, false otherwise (single-node development).
    /// </summary>
    public bool? Required { get; set; }

    public JwtOptions Jwt { get; set; } = new();

    /// <summary>What a client without a token may do when <see cref="Required"/> is false (default: everything).</summary>
    public PermissionOptions Anonymous { get; set; } = new();

    /// <summary>Static bearer keys accepted by the HTTP publish API (in addition to JWTs with the publisher role).</summary>
    public List<string> PublishApiKeys { get; set; } = [];

    /// <summary>JWT role (claim <c>roles</c> or <c>role</c>) that may use the HTTP publish API.</summary>
    public string PublisherRole { get; set; } = "publisher";

    public bool IsRequired => Required ?? Jwt.HasKey;
}

public sealed class JwtOptions
{
    /// <summary>HS256 shared secret (UTF-8, at least 32 bytes).</summary>
    public string? Secret { get; set; }

    /// <summary>PEM file with an RSA (RS256) or EC P-256 (ES256) public key.</summary>
    public string? PublicKeyFile { get; set; }

    /// <summary>JWKS document on disk.</summary>
    public string? JwksFile { get; set; }

    /// <summary>JWKS URL, fetched at start-up and every <see cref="JwksRefreshSeconds"/>.</summary>
    public string? JwksUrl { get; set; }

    public int JwksRefreshSeconds { get; set; } = 300;

    public string? Issuer { get; set; }

    public string? Audience { get; set; }

    public int ClockSkewSeconds { get; set; } = 30;

    /// <summary>Claim holding the topic patterns a client may subscribe to (array or space-separated string).</summary>
    public string SubscribeClaim { get; set; } = "sub_topics";

    public string PublishClaim { get; set; } = "pub_topics";

    public bool HasKey => !string.IsNullOrEmpty(Secret) || !string.IsNullOrEmpty(PublicKeyFile) ||
        !string.IsNullOrEmpty(JwksFile) || !string.IsNullOrEmpty(JwksUrl);
}

public sealed class PermissionOptions
{
    // Null rather than a pre-filled list: the configuration binder appends to existing items, so a
    // default of [">"] could never be narrowed by configuration.
    public List<string>? Subscribe { get; set; }

    public List<string>? Publish { get; set; }

    public IReadOnlyList<string> EffectiveSubscribe => Subscribe ?? [">"];

    public IReadOnlyList<string> EffectivePublish => Publish ?? [">"];
}
