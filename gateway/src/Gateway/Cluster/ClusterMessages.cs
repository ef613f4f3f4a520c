using System.Text.Json.Serialization;

namespace PubSubGateway.Cluster;

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(NodeHeartbeat))]
[JsonSerializable(typeof(NodeCommand))]
[JsonSerializable(typeof(NodeCommandReply))]
internal sealed partial class ClusterJsonContext : JsonSerializerContext;
