using System.Buffers.Binary;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace PubSubGateway.Tests.Infrastructure;

/// <summary>
/// A WebSocket client written on a bare TCP socket, for hostile tests that need what a proper
/// client library refuses to send: unmasked or reserved frames, floods of control frames,
/// half-written handshakes, oversized headers.
/// </summary>
public sealed class RawWebSocket : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private RawWebSocket(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public int Status { get; private set; }

    public string ResponseHead { get; private set; } = "";

    public static async Task<RawWebSocket> OpenTcpAsync(Uri uri, int? receiveBuffer = null)
    {
        var tcp = new TcpClient();
        if (receiveBuffer is { } size)
        {
            tcp.ReceiveBufferSize = size;
        }

        await tcp.ConnectAsync(uri.Host, uri.Port);
        return new RawWebSocket(tcp);
    }

    /// <summary>Sends an upgrade request with the given extra header lines; reads the status line and headers.</summary>
    public static async Task<RawWebSocket> ConnectAsync(Uri uri, string extraHeaders = "Sec-WebSocket-Protocol: pubsub.v1.json\r\n", int? receiveBuffer = null)
    {
        var socket = await OpenTcpAsync(uri, receiveBuffer);
        var key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(16));
        await socket.WriteAsync(
            $"GET {uri.PathAndQuery} HTTP/1.1\r\nHost: {uri.Host}:{uri.Port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
            $"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extraHeaders}\r\n");
        await socket.ReadHeadAsync();
        return socket;
    }

    public async Task WriteAsync(string text) => await _stream.WriteAsync(Encoding.ASCII.GetBytes(text));

    public async Task ReadHeadAsync()
    {
        var head = new StringBuilder();
        var one = new byte[1];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await _stream.ReadAsync(one, timeout.Token) == 0)
            {
                break;
            }

            head.Append((char)one[0]);
        }

        ResponseHead = head.ToString();
        var parts = ResponseHead.Split(' ', 3);
        Status = parts.Length > 1 && int.TryParse(parts[1], out var status) ? status : 0;
    }

    /// <summary>Reads a response body of <paramref name="length"/> bytes (after <see cref="ReadHeadAsync"/>).</summary>
    public async Task<string> ReadBodyAsync(int length)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var body = await ReadExactlyAsync(length, timeout.Token) ?? throw new IOException("connection closed in the body");
        return Encoding.UTF8.GetString(body);
    }

    /// <summary>Writes one frame; client frames are masked unless <paramref name="masked"/> is false.</summary>
    public async Task SendFrameAsync(int opcode, byte[] payload, bool fin = true, bool masked = true, int rsv = 0)
    {
        var header = new List<byte> { (byte)((fin ? 0x80 : 0) | (rsv << 4) | opcode) };
        var maskBit = masked ? 0x80 : 0;
        if (payload.Length < 126)
        {
            header.Add((byte)(maskBit | payload.Length));
        }
        else if (payload.Length <= ushort.MaxValue)
        {
            header.Add((byte)(maskBit | 126));
            header.AddRange(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness((ushort)payload.Length)));
        }
        else
        {
            header.Add((byte)(maskBit | 127));
            header.AddRange(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness((ulong)payload.Length)));
        }

        var body = (byte[])payload.Clone();
        if (masked)
        {
            var mask = RandomNumberGenerator.GetBytes(4);
            header.AddRange(mask);
            for (var i = 0; i < body.Length; i++)
            {
                body[i] ^= mask[i % 4];
            }
        }

        await _stream.WriteAsync(header.ToArray());
        await _stream.WriteAsync(body);
    }

    public Task SendTextAsync(string text) => SendFrameAsync(0x1, Encoding.UTF8.GetBytes(text));

    /// <summary>Reads server frames until a close frame (returns its code) or the connection ends (returns null).</summary>
    public Task<int?> ReadUntilCloseAsync(TimeSpan timeout, List<string>? texts = null) => ReadFramesAsync(timeout, texts, stopAfterText: false);

    private async Task<int?> ReadFramesAsync(TimeSpan timeout, List<string>? texts, bool stopAfterText)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var head = await ReadExactlyAsync(2, cts.Token);
                if (head is null)
                {
                    return null;
                }

                var opcode = head[0] & 0x0F;
                long length = head[1] & 0x7F;
                if (length == 126)
                {
                    length = BinaryPrimitives.ReadUInt16BigEndian(await ReadExactlyAsync(2, cts.Token));
                }
                else if (length == 127)
                {
                    length = (long)BinaryPrimitives.ReadUInt64BigEndian(await ReadExactlyAsync(8, cts.Token));
                }

                var payload = length == 0 ? [] : await ReadExactlyAsync((int)length, cts.Token);
                if (payload is null)
                {
                    return null;
                }

                if (opcode == 0x8)
                {
                    return payload.Length >= 2 ? BinaryPrimitives.ReadUInt16BigEndian(payload) : 1005;
                }

                if (opcode == 0x1)
                {
                    texts?.Add(Encoding.UTF8.GetString(payload));
                    if (stopAfterText)
                    {
                        return null;
                    }
                }
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
        {
            return null;
        }
    }

    /// <summary>Reads text frames until one satisfies <paramref name="match"/>; false on close or timeout.</summary>
    public async Task<bool> ReadTextUntilAsync(Func<string, bool> match, TimeSpan timeout)
    {
        var texts = new List<string>();
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            var before = texts.Count;
            var code = await ReadFramesAsync(deadline - DateTime.UtcNow, texts, stopAfterText: true);
            if (texts.Skip(before).Any(match))
            {
                return true;
            }

            if (code is not null || texts.Count == before)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>True when the server closed the TCP connection within the timeout.</summary>
    public async Task<bool> ServerHangsUpAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buffer = new byte[1024];
        try
        {
            while (await _stream.ReadAsync(buffer, cts.Token) > 0)
            {
            }

            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task<byte[]?> ReadExactlyAsync(int count, CancellationToken cancellationToken)
    {
        var buffer = new byte[count];
        var read = 0;
        while (read < count)
        {
            var n = await _stream.ReadAsync(buffer.AsMemory(read), cancellationToken);
            if (n == 0)
            {
                return null;
            }

            read += n;
        }

        return buffer;
    }
}
