using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;

namespace PubSubGateway.LoadTest.Clients;

/// <summary>
/// Opens client WebSockets cheaply: a raw socket (optionally bound to a chosen loopback source
/// address), a hand-written HTTP/1.1 upgrade, then <see cref="LeanClientWebSocket"/> for clients
/// that read messages (it parses frames out of its own read buffer), or
/// <see cref="WebSocket.CreateFromStream(Stream, WebSocketCreationOptions)"/> for idle ones (no
/// read buffer at all). Measured here at ~4.5 KB per idle client against ~28 KB for
/// <see cref="ClientWebSocket"/>.
/// </summary>
internal sealed class WebSocketConnector
{
    // IP_BIND_ADDRESS_NO_PORT (linux/in.h): bind the source address now, pick the port at connect
    // time, so many sockets on one address can share ports towards different destinations.
    private const int IpBindAddressNoPort = 24;

    private readonly Uri _uri;
    private readonly string? _subProtocol;
    private readonly SourceAddressPool _sources;
    private readonly DnsEndPoint _endpoint;
    private readonly int _readBufferBytes;

    /// <param name="readBufferBytes">Socket read buffer per client (see <see cref="ReadBufferedStream"/>); 0 for idle clients.</param>
    public WebSocketConnector(Uri uri, string? subProtocol, SourceAddressPool sources, int readBufferBytes)
    {
        _readBufferBytes = readBufferBytes;
        if (uri.Scheme != "ws")
        {
            throw new ArgumentException("only ws:// URLs (loopback, no TLS) are supported", nameof(uri));
        }

        _uri = uri;
        _subProtocol = subProtocol;
        _sources = sources;
        _endpoint = new DnsEndPoint(uri.Host, uri.Port);
    }

    public async Task<WebSocket> ConnectAsync(CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            var source = _sources.Next();
            if (source is not null)
            {
                socket.SetRawSocketOption((int)SocketOptionLevel.IP, IpBindAddressNoPort, BitConverter.GetBytes(1));
                socket.Bind(new IPEndPoint(source, 0));
            }

            await socket.ConnectAsync(IPAddress.Parse(_endpoint.Host == "localhost" ? "127.0.0.1" : _endpoint.Host), _endpoint.Port, cancellationToken);
            var stream = new NetworkStream(socket, ownsSocket: true);
            var leftover = await UpgradeAsync(stream, cancellationToken);
            if (_readBufferBytes > 0)
            {
                return new LeanClientWebSocket(stream, leftover, _readBufferBytes, _subProtocol);
            }

            Stream transport = leftover.Length == 0 && _readBufferBytes == 0 ? stream : new ReadBufferedStream(stream, leftover, _readBufferBytes);
            return WebSocket.CreateFromStream(transport, new WebSocketCreationOptions
            {
                IsServer = false,
                SubProtocol = _subProtocol,
                KeepAliveInterval = TimeSpan.Zero,
            });
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends the upgrade request, checks the 101 response and returns any bytes read past it.</summary>
    private async Task<byte[]> UpgradeAsync(NetworkStream stream, CancellationToken cancellationToken)
    {
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        var request = new StringBuilder()
            .Append("GET ").Append(_uri.PathAndQuery).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(_uri.Authority).Append("\r\n")
            .Append("Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n")
            .Append("Sec-WebSocket-Key: ").Append(key).Append("\r\n");
        if (_subProtocol is not null)
        {
            request.Append("Sec-WebSocket-Protocol: ").Append(_subProtocol).Append("\r\n");
        }

        request.Append("\r\n");
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request.ToString()), cancellationToken);

        var buffer = new byte[1024];
        var length = 0;
        int end;
        while ((end = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (length == buffer.Length)
            {
                throw new WebSocketException("upgrade response headers too large");
            }

            var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
            if (read == 0)
            {
                throw new WebSocketException("connection closed during the upgrade");
            }

            length += read;
        }

        var head = Encoding.ASCII.GetString(buffer, 0, end);
        if (!head.StartsWith("HTTP/1.1 101", StringComparison.Ordinal))
        {
            throw new WebSocketException("upgrade refused: " + head.Split("\r\n")[0]);
        }

        // RFC 6455 §4.2.2 fixes SHA-1 for Sec-WebSocket-Accept; it is a handshake check, not security.
#pragma warning disable CA5350
        var expected = Convert.ToBase64String(SHA1.HashData(Encoding.ASCII.GetBytes(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")));
#pragma warning restore CA5350
        if (!head.Contains("Sec-WebSocket-Accept: " + expected, StringComparison.OrdinalIgnoreCase))
        {
            throw new WebSocketException("upgrade response has a wrong Sec-WebSocket-Accept");
        }

        return buffer.AsSpan(end + 4, length - end - 4).ToArray();
    }
}
