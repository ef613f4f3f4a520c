using PubSubGateway.Cluster;

namespace PubSubGateway.ControlPlane.Registry;

/// <summary>A live node: its last heartbeat, the KV revision it came with and when this process saw it.</summary>
internal sealed record NodeEntry(NodeHeartbeat Heartbeat, ulong Revision, long SeenAtTicks)
{
    public const string Active = "active";
    public const string Draining = "draining";
    public const string Drained = "drained";

    public string Id => Heartbeat.Id;

    public bool IsActive => Heartbeat.State == Active;
}
