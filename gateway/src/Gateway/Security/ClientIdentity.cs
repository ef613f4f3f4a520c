namespace PubSubGateway.Security;

/// <summary>Who a connection or HTTP caller is, and what it may do.</summary>
internal sealed record ClientIdentity(string? Subject, DateTimeOffset? Expires, Permissions Permissions, IReadOnlySet<string> Roles)
{
    public bool IsAnonymous => Subject is null && Expires is null;

    public static ClientIdentity Anonymous(Permissions permissions) => new(null, null, permissions, new HashSet<string>());
}

/// <summary>Outcome of validating a token: an identity, or a reason that is safe to show the caller.</summary>
internal readonly record struct AuthResult(ClientIdentity? Identity, string? Error)
{
    public bool Ok => Identity is not null;

    public static AuthResult Fail(string error) => new(null, error);
}
