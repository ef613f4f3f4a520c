using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using PubSubGateway.Http;
using PubSubGateway.Protocol;

namespace PubSubGateway.Connections;

/// <summary><c>/ws</c>: the protocol v1 WebSocket endpoint (subprotocol <c>pubsub.v1.json</c>).</summary>
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
        if (offered.Count > 0 && !offered.Contains(SubProtocol))
        {
            await HttpErrors.Problem(StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, $"unsupported subprotocol; this server speaks {SubProtocol}")
                .ExecuteAsync(context);
            return;
        }

        var subProtocol = offered.Count > 0 ? SubProtocol : null;
        if (!services.Manager.TryReserve())
        {
            services.Metrics.ConnectionsRejected.WithLabels("max_connections").Inc();
            var (refused, refusedStream) = await UpgradeAsync(context, subProtocol, services.Options.Heartbeat);
            using (refused)
            {
                await CloseQuietlyAsync(refused, CloseCodes.TryAgainLater, "node is at its connection limit");
            }

            refusedStream.DisposeNow();
            return;
        }

        WebSocket socket;
        UpgradedStream stream;
        try
        {
            (socket, stream) = await UpgradeAsync(context, subProtocol, services.Options.Heartbeat);
        }
        catch
        {
            services.Manager.ReleaseReservation();
            throw;
        }

        using (socket)
        using (var connection = new ClientConnection(socket, services))
        {
            await connection.RunAsync(context.RequestAborted);
        }
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
        var socket = WebSocket.CreateFromStream(stream, new WebSocketCreationOptions
        {
            IsServer = true,
            SubProtocol = subProtocol,
            KeepAliveInterval = TimeSpan.FromMilliseconds(heartbeat.IntervalMs),
            KeepAliveTimeout = TimeSpan.FromMilliseconds(heartbeat.TimeoutMs),
        });
        return (socket, stream);
    }

    private static string AcceptKey(string key)
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
