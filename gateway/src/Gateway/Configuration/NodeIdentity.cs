using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace PubSubGateway.Configuration;

/// <summary>Who this node is: its id (config, <c>POD_NAME</c> or host name), version and advertised URL.</summary>
internal sealed class NodeIdentity(IOptions<GatewayOptions> options, IServer server)
{
    public string Id { get; } = options.Value.NodeId is { Length: > 0 } id
        ? id
        : Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } pod ? pod : Environment.MachineName;

    public string Version { get; } = typeof(NodeIdentity).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    /// <summary><c>Gateway:AdvertiseUrl</c>, else the first address Kestrel bound (known once the server started).</summary>
    public string? AdvertiseUrl => options.Value.AdvertiseUrl is { Length: > 0 } url
        ? url
        : server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
}
