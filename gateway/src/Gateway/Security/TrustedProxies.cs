using System.Net;

namespace PubSubGateway.Security;

/// <summary>
/// <c>Gateway:TrustedProxies</c>: the peers (IPs or CIDR ranges) whose <c>X-Forwarded-For</c> names
/// the client. Used for per-IP limits behind the router, by the HTTP pipeline (ForwardedHeaders,
/// limit 1) and by the raw WebSocket handshake, which applies the same rule.
/// </summary>
internal sealed class TrustedProxies
{
    private readonly IPNetwork[] _networks;

    public TrustedProxies(IEnumerable<string> entries)
    {
        _networks = [.. entries.Select(Parse)];
    }

    public IReadOnlyList<IPNetwork> Networks => _networks;

    /// <summary>An IP (a /32 or /128 network) or a CIDR range; the options validator has checked the syntax.</summary>
    public static IPNetwork Parse(string entry)
    {
        if (IPNetwork.TryParse(entry, out var network))
        {
            return network;
        }

        var address = IPAddress.Parse(entry);
        return new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
    }

    /// <summary>
    /// The client address as the per-IP limits see it: the last <c>X-Forwarded-For</c> entry when
    /// the peer is a trusted proxy and the entry parses, otherwise the peer itself.
    /// </summary>
    public string ClientAddress(IPAddress? peer, string? forwardedFor)
    {
        if (peer is null)
        {
            return "unknown";
        }

        if (_networks.Length > 0 && !string.IsNullOrEmpty(forwardedFor) && IsTrusted(peer))
        {
            var last = forwardedFor.AsSpan();
            var comma = last.LastIndexOf(',');
            if (comma >= 0)
            {
                last = last[(comma + 1)..];
            }

            if (IPEndPoint.TryParse(last.Trim(), out var forwarded))
            {
                return forwarded.Address.ToString();
            }
        }

        return peer.ToString();
    }

    private bool IsTrusted(IPAddress peer)
    {
        foreach (var network in _networks)
        {
            if (network.Contains(peer) || (peer.IsIPv4MappedToIPv6 && network.Contains(peer.MapToIPv4())))
            {
                return true;
            }
        }

        return false;
    }
}
