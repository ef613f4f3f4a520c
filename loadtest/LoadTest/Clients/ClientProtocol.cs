namespace PubSubGateway.LoadTest.Clients;

/// <summary>What a subscriber client speaks, i.e. which server it is measuring.</summary>
internal enum ClientProtocol
{
    /// <summary>The gateway's protocol v1 (subprotocol <c>pubsub.v1.json</c>).</summary>
    Gateway,

    /// <summary>The NATS text protocol over nats-server's WebSocket listener.</summary>
    NatsWebSocket,

    /// <summary>The SignalR JSON hub protocol (loadtest/SignalRPeer).</summary>
    SignalR,
}

internal static class ClientProtocols
{
    public static ClientProtocol FromTarget(string target) => target switch
    {
        "nats-ws" => ClientProtocol.NatsWebSocket,
        "signalr" => ClientProtocol.SignalR,
        _ => ClientProtocol.Gateway,
    };

    public static string? SubProtocol(ClientProtocol protocol) => protocol == ClientProtocol.Gateway ? "pubsub.v1.json" : null;
}
