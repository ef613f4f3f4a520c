using Microsoft.AspNetCore.SignalR;

namespace PubSubGateway.SignalRPeer;

internal sealed class TopicHub : Hub
{
    public Task Subscribe(string topic) => Groups.AddToGroupAsync(Context.ConnectionId, topic);
}
