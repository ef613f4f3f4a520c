using System.Collections.Frozen;
using Microsoft.Extensions.Primitives;

namespace PubSubGateway.ControlPlane.Registry;

/// <summary>
/// An immutable view of every live node. Readers take <see cref="NodeRegistry.Current"/> once and
/// use it without locks; its <see cref="ChangeToken"/> fires when a newer snapshot replaces it.
/// </summary>
internal sealed class RegistrySnapshot(FrozenDictionary<string, NodeEntry> nodes, IChangeToken changeToken)
{
    public FrozenDictionary<string, NodeEntry> Nodes { get; } = nodes;

    public IChangeToken ChangeToken { get; } = changeToken;

    public IEnumerable<NodeEntry> Sorted => Nodes.Values.OrderBy(n => n.Id, StringComparer.Ordinal);
}
