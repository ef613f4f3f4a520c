using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using PubSubGateway.ControlPlane.Configuration;

namespace PubSubGateway.ControlPlane.Admin;

/// <summary>
/// Admin API access: with <c>ControlPlane:AdminToken</c> set, every call needs
/// <c>Authorization: Bearer &lt;token&gt;</c> (401 otherwise); without it, only loopback callers are
/// served (403 otherwise), so an unconfigured control plane is never remotely controllable.
/// </summary>
internal sealed class AdminAuthFilter(IOptions<ControlPlaneOptions> options) : IEndpointFilter
{
    private readonly byte[]? _token = options.Value.AdminToken is { Length: > 0 } t ? Encoding.UTF8.GetBytes(t) : null;

    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (_token is null)
        {
            var remote = http.Connection.RemoteIpAddress;
            return remote is not null && System.Net.IPAddress.IsLoopback(remote)
                ? await next(context)
                : AdminResults.Error(StatusCodes.Status403Forbidden, "forbidden", "the admin API serves loopback callers only until ControlPlane:AdminToken is set");
        }

        var header = http.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer";
            return AdminResults.Error(StatusCodes.Status401Unauthorized, "unauthorized", "missing bearer token");
        }

        var presented = Encoding.UTF8.GetBytes(header[scheme.Length..].Trim());
        if (!CryptographicOperations.FixedTimeEquals(presented, _token))
        {
            http.Response.Headers.WWWAuthenticate = "Bearer error=\"invalid_token\"";
            return AdminResults.Error(StatusCodes.Status401Unauthorized, "unauthorized", "invalid bearer token");
        }

        return await next(context);
    }
}

internal static class AdminResults
{
    public static IResult Error(int status, string code, string message) =>
        Results.Json(new ApiError(code, message), AdminJsonContext.Default.ApiError, statusCode: status);
}
