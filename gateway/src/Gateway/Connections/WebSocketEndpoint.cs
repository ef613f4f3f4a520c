using System.Net.WebSockets;
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

        var heartbeat = services.Options.Heartbeat;
        var accept = new WebSocketAcceptContext
        {
            SubProtocol = offered.Count > 0 ? SubProtocol : null,
            KeepAliveInterval = TimeSpan.FromMilliseconds(heartbeat.IntervalMs),
            KeepAliveTimeout = TimeSpan.FromMilliseconds(heartbeat.TimeoutMs),
        };

        if (!services.Manager.TryReserve())
        {
            services.Metrics.ConnectionsRejected.WithLabels("max_connections").Inc();
            using var refused = await context.WebSockets.AcceptWebSocketAsync(accept);
            await CloseQuietlyAsync(refused, CloseCodes.TryAgainLater, "node is at its connection limit");
            return;
        }

        WebSocket socket;
        try
        {
            socket = await context.WebSockets.AcceptWebSocketAsync(accept);
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
