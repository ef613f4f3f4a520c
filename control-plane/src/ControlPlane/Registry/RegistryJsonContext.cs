using System.Text.Json.Serialization;
using PubSubGateway.Cluster;

namespace PubSubGateway.ControlPlane.Registry;

[JsonSerializable(typeof(NodeHeartbeat))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;
