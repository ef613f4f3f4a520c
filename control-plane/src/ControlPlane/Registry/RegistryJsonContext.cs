using System.Text.Json.Serialization;

namespace PubSubGateway.ControlPlane.Registry;

[JsonSerializable(typeof(NodeHeartbeat))]
internal sealed partial class RegistryJsonContext : JsonSerializerContext;
