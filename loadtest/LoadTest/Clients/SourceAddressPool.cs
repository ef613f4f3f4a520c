using System.Net;

namespace PubSubGateway.LoadTest.Clients;

/// <summary>
/// Local addresses client sockets bind to. One loopback source address gives ~28,000 ephemeral
/// ports towards one server port; spreading clients over 127.0.0.2…127.0.0.N lifts that limit.
/// With a single address nothing is bound and the kernel picks as usual.
/// </summary>
internal sealed class SourceAddressPool
{
    private readonly IPAddress[] _addresses;
    private int _next = -1;

    public SourceAddressPool(int count)
    {
        if (count is < 1 or > 250)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, "between 1 and 250 source addresses");
        }

        _addresses = count == 1 ? [] : Enumerable.Range(2, count).Select(i => new IPAddress(new byte[] { 127, 0, 0, (byte)i })).ToArray();
    }

    /// <summary>Connections per source address before the pool suggests another one.</summary>
    public const int ConnectionsPerAddress = 20_000;

    public static int For(int connections) => Math.Max(1, (connections + ConnectionsPerAddress - 1) / ConnectionsPerAddress);

    /// <summary>The address the next client binds to, or null to let the kernel choose.</summary>
    public IPAddress? Next() => _addresses.Length == 0 ? null : _addresses[(int)((uint)Interlocked.Increment(ref _next) % _addresses.Length)];
}
