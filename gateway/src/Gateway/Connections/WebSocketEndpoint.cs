using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using PubSubGateway.Http;
using PubSubGateway.Protocol;
using PubSubGateway.Security;

namespace PubSubGateway.Connections;

/// <summary>
/// <c>/ws</c>: the protocol v1 WebSocket endpoint (subprotocol <c>pubsub.v1.json</c>) in the HTTP
/// pipeline. Well-formed upgrades that will be accepted are normally completed earlier, on the raw
/// connection, by <see cref="RawUpgradeMiddleware"/>; this endpoint answers everything else (every
/// refusal, and every upgrade when <c>Gateway:RawHandshake</c> is off). Both use the checks here.
/// </summary>
internal static class WebSocketEndpoint
{
    public const string SubProtocol = "pubsub.v1.json";

    public static IEndpointRouteBuilder MapClientWebSockets(this IEndpointRouteBuilder endpoints)
    {
        endpoints.Map("/ws", AcceptAsync);
        return endpoints;
    }

    private static async Task AcceptAsync(HttpContext context, ConnectionServices services)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            await HttpErrors.Problem(StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, "a WebSocket upgrade is required (subprotocol pubsub.v1.json)")
                .ExecuteAsync(context);
            return;
        }

        var offered = context.WebSockets.WebSocketRequestedProtocols;
        if (!TrySelectSubProtocol(offered, out var subProtocol))
        {
            await HttpErrors.Problem(StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, $"unsupported subprotocol; this server speaks {SubProtocol}")
                .ExecuteAsync(context);
            return;
        }

        if (!OriginAllowed(services.Options, context.Request.Headers.Origin.ToString()))
        {
            services.Metrics.ConnectionsRejected.WithLabels("origin").Inc();
            await HttpErrors.Problem(StatusCodes.Status403Forbidden, ErrorCodes.Forbidden, "origin not allowed").ExecuteAsync(context);
            return;
        }

        var identity = await AuthenticateAsync(context, services, offered);
        if (identity is null)
        {
            return;
        }

        var ip = context.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        var admission = services.Manager.TryAdmit(ip, identity.Subject);
        if (admission == AdmissionResult.IpLimit)
        {
            services.Metrics.ConnectionsRejected.WithLabels("ip_limit").Inc();
            await HttpErrors.Problem(StatusCodes.Status429TooManyRequests, ErrorCodes.LimitExceeded, "too many connections from this address").ExecuteAsync(context);
            return;
        }

        if (admission != AdmissionResult.Admitted)
        {
            var (reason, text) = admission == AdmissionResult.NodeFull
                ? ("max_connections", "node is at its connection limit")
                : ("user_limit", "too many connections for this user");
            services.Metrics.ConnectionsRejected.WithLabels(reason).Inc();
            var (refused, refusedStream) = await UpgradeAsync(context, subProtocol, services.Options.Heartbeat);
            using (refused)
            {
                await CloseQuietlyAsync(refused, CloseCodes.TryAgainLater, text);
            }

            refusedStream.DisposeNow();
            return;
        }

        try
        {
            var (socket, stream) = await UpgradeAsync(context, subProtocol, services.Options.Heartbeat);
            using (socket)
            using (var connection = new ClientConnection(socket, stream, services, identity))
            {
                await connection.RunAsync(context.RequestAborted);
            }
        }
        finally
        {
            services.Manager.Release(ip, identity.Subject);
        }
    }

    /// <summary>
    /// The subprotocol to answer with: none when the client offered none (besides <c>bearer.</c>
    /// token carriers), <c>pubsub.v1.json</c> when it is among those offered; false when only others were.
    /// </summary>
    public static bool TrySelectSubProtocol(IEnumerable<string> offered, out string? subProtocol)
    {
        subProtocol = null;
        var any = false;
        foreach (var protocol in offered)
        {
            if (protocol.StartsWith(TokenSources.SubProtocolPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            any = true;
            if (protocol == SubProtocol)
            {
                subProtocol = SubProtocol;
                return true;
            }
        }

        return !any;
    }

    /// <summary>Requests without an Origin (non-browser clients) always pass; otherwise the allow-list, when set, decides.</summary>
    public static bool OriginAllowed(Configuration.GatewayOptions options, string? origin) =>
        options.AllowedOrigins.Count == 0 || string.IsNullOrEmpty(origin) || options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase);

    public static WebSocket CreateSocket(Stream stream, string? subProtocol, Configuration.HeartbeatOptions heartbeat) =>
        WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = subProtocol,
            KeepAliveInterval = TimeSpan.FromMilliseconds(heartbeat.IntervalMs),
            KeepAliveTimeout = TimeSpan.FromMilliseconds(heartbeat.TimeoutMs),
        });

    /// <summary>The caller's identity, or null after answering 401 (bad token, or none when one is required).</summary>
    private static async Task<ClientIdentity?> AuthenticateAsync(HttpContext context, ConnectionServices services, IList<string> offered)
    {
        var token = TokenSources.Find(context.Request, offered);
        if (token is null)
        {
            if (!services.Auth.Required)
            {
                return services.Auth.AnonymousIdentity;
            }

            services.Metrics.ConnectionsRejected.WithLabels("unauthorized").Inc();
            await HttpErrors.Problem(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, "a token is required").ExecuteAsync(context);
            return null;
        }

        var result = await services.Auth.ValidateAsync(token);
        if (result.Ok)
        {
            return result.Identity;
        }

        services.Metrics.ConnectionsRejected.WithLabels("unauthorized").Inc();
        await HttpErrors.Problem(StatusCodes.Status401Unauthorized, ErrorCodes.Unauthorized, result.Error!).ExecuteAsync(context);
        return null;
    }

    /// <summary>
    /// Completes the RFC 6455 handshake by hand (instead of AcceptWebSocketAsync) so the socket runs
    /// over our own <see cref="UpgradedStream"/>. IsWebSocketRequest has already checked the method,
    /// headers, version 13 and the key.
    /// </summary>
    private static async Task<(WebSocket Socket, UpgradedStream Stream)> UpgradeAsync(HttpContext context, string? subProtocol, Configuration.HeartbeatOptions heartbeat)
    {
        var upgrade = context.Features.GetRequiredFeature<IHttpUpgradeFeature>();
        var headers = context.Response.Headers;
        headers.Connection = "Upgrade";
        headers.Upgrade = "websocket";
        headers.SecWebSocketAccept = AcceptKey(context.Request.Headers.SecWebSocketKey.ToString());
        if (subProtocol is not null)
        {
            headers.SecWebSocketProtocol = subProtocol;
        }

        var stream = new UpgradedStream(await upgrade.UpgradeAsync());
        return (CreateSocket(stream, subProtocol, heartbeat), stream);
    }

    public static string AcceptKey(string key)
    {
        Span<byte> hash = stackalloc byte[20];
#pragma warning disable CA5350 // RFC 6455 fixes SHA-1 for Sec-WebSocket-Accept; it is not used for security.
        SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"), hash);
        return Convert.ToBase64String(hash);
#pragma warning restore CA5350
    }

    private static async Task CloseQuietlyAsync(WebSocket socket, int code, string reason)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.CloseAsync((WebSocketCloseStatus)code, reason, timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException)
        {
        }
    }
}
