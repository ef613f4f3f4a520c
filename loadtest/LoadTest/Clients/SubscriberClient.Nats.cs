using System.Buffers.Text;
using System.Net.WebSockets;
using System.Text;
using PubSubGateway.LoadTest.Payloads;

namespace PubSubGateway.LoadTest.Clients;

/// <summary>
/// The NATS text protocol over nats-server's WebSocket listener: <c>INFO</c> → <c>CONNECT</c>,
/// <c>SUB</c>, <c>PING</c> → <c>PONG</c>, then <c>MSG subject sid size\r\npayload\r\n</c>. The server
/// packs several protocol messages into one WebSocket frame and may split one across frames, so
/// the bytes are parsed as a stream, not per frame.
/// </summary>
internal sealed partial class SubscriberClient
{
    private static readonly byte[] Pong = "PONG\r\n"u8.ToArray();
    private int _pending;
    private bool _pingDue;
    private bool _pongSeen;

    private async Task SubscribeNatsAsync(string subject, CancellationToken cancellationToken)
    {
        var info = await ReceiveFrameAsync(cancellationToken);
        if (!info.AsSpan().StartsWith("INFO "u8))
        {
            throw new InvalidOperationException("expected INFO from nats-server, got " + Encoding.UTF8.GetString(info));
        }

        var hello = Encoding.ASCII.GetBytes(
            "CONNECT {\"verbose\":false,\"pedantic\":false,\"protocol\":1,\"name\":\"loadtest\"}\r\n" +
            $"SUB {subject} 1\r\nPING\r\n");
        await _socket.SendAsync(hello, WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        while (!_pongSeen)
        {
            await ReceiveStreamAsync(cancellationToken);
        }
    }

    /// <summary>Receive loop for the peers, whose protocol messages don't line up with WebSocket frames.</summary>
    private async Task StreamReceiveLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (await ReceiveStreamAsync(cancellationToken))
            {
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            Failed = _socket.CloseStatus is null && !cancellationToken.IsCancellationRequested;
        }
        finally
        {
            FlushReceived();
        }
    }

    /// <summary>Reads once from the socket and handles every complete protocol message; false on close.</summary>
    private async Task<bool> ReceiveStreamAsync(CancellationToken cancellationToken)
    {
        if (_pending == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        var result = await _socket.ReceiveAsync(_buffer.AsMemory(_pending), cancellationToken);
        if (result.MessageType == WebSocketMessageType.Close)
        {
            return false;
        }

        _pending += result.Count;
        var consumed = _protocol == ClientProtocol.SignalR ? ParseSignalR(_buffer.AsSpan(0, _pending)) : ParseNats(_buffer.AsSpan(0, _pending));
        FlushReceived();
        if (consumed > 0)
        {
            _buffer.AsSpan(consumed, _pending - consumed).CopyTo(_buffer);
            _pending -= consumed;
        }

        if (_pingDue)
        {
            _pingDue = false;
            await _socket.SendAsync(_protocol == ClientProtocol.SignalR ? SignalRPing : Pong, _protocol == ClientProtocol.SignalR ? WebSocketMessageType.Text : WebSocketMessageType.Binary, endOfMessage: true, cancellationToken);
        }

        return true;
    }

    private int ParseNats(ReadOnlySpan<byte> data)
    {
        var consumed = 0;
        var now = ReceivedAt();
        while (true)
        {
            var rest = data[consumed..];
            var eol = rest.IndexOf("\r\n"u8);
            if (eol < 0)
            {
                return consumed;
            }

            var line = rest[..eol];
            if (line.StartsWith("MSG "u8))
            {
                if (!Utf8Parser.TryParse(line[(line.LastIndexOf((byte)' ') + 1)..], out int size, out _))
                {
                    throw new InvalidOperationException("bad MSG line: " + Encoding.ASCII.GetString(line));
                }

                var total = eol + 2 + size + 2;
                if (rest.Length < total)
                {
                    return consumed;
                }

                if (BenchPayload.TryReadPayload(rest.Slice(eol + 2, size), out var seq, out var timestamp))
                {
                    Record(seq, timestamp, now);
                }

                consumed += total;
                continue;
            }

            if (line.SequenceEqual("PING"u8))
            {
                _pingDue = true;
            }
            else if (line.SequenceEqual("PONG"u8))
            {
                _pongSeen = true;
            }
            else if (line.StartsWith("-ERR"u8))
            {
                throw new InvalidOperationException("nats-server: " + Encoding.ASCII.GetString(line));
            }

            consumed += eol + 2;
        }
    }
}
