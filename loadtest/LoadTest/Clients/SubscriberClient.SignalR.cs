using System.Net.WebSockets;
using System.Text;
using PubSubGateway.LoadTest.Payloads;

namespace PubSubGateway.LoadTest.Clients;

/// <summary>
/// SignalR's JSON hub protocol over a WebSocket opened without negotiation: handshake
/// <c>{"protocol":"json","version":1}␞</c> → <c>{}␞</c>, invoke <c>Subscribe(topic)</c>, then
/// <c>{"type":1,"target":"msg","arguments":[payload]}␞</c> records. Server pings (type 6) are answered in kind.
/// </summary>
internal sealed partial class SubscriberClient
{
    private const byte RecordSeparator = 0x1e;
    private static readonly byte[] SignalRPing = "{\"type\":6}\u001e"u8.ToArray();
    private bool _completionSeen;

    private static ReadOnlySpan<byte> ArgumentsKey => "\"arguments\":["u8;

    private async Task SubscribeSignalRAsync(string topic, CancellationToken cancellationToken)
    {
        await _socket.SendAsync("{\"protocol\":\"json\",\"version\":1}\u001e"u8.ToArray(), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        var subscribe = Encoding.UTF8.GetBytes($"{{\"type\":1,\"invocationId\":\"1\",\"target\":\"Subscribe\",\"arguments\":[\"{topic}\"]}}\u001e");
        await _socket.SendAsync(subscribe, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        while (!_completionSeen)
        {
            if (!await ReceiveStreamAsync(cancellationToken))
            {
                throw new WebSocketException($"closed by the SignalR server during the handshake: {_socket.CloseStatus} {_socket.CloseStatusDescription}");
            }
        }
    }

    private int ParseSignalR(ReadOnlySpan<byte> data)
    {
        var consumed = 0;
        var now = ReceivedAt();
        while (true)
        {
            var rest = data[consumed..];
            var end = rest.IndexOf(RecordSeparator);
            if (end < 0)
            {
                return consumed;
            }

            var record = rest[..end];
            consumed += end + 1;
            if (record.StartsWith("{\"type\":1,"u8))
            {
                var args = record.IndexOf(ArgumentsKey);
                if (args >= 0 && BenchPayload.TryReadPayload(record[(args + ArgumentsKey.Length)..], out var seq, out var timestamp))
                {
                    Record(seq, timestamp, now);
                }
            }
            else if (record.StartsWith("{\"type\":3,"u8))
            {
                if (record.IndexOf("\"error\""u8) >= 0)
                {
                    throw new InvalidOperationException("Subscribe failed: " + Encoding.UTF8.GetString(record));
                }

                _completionSeen = true;
            }
            else if (record.StartsWith("{\"type\":6"u8))
            {
                _pingDue = true;
            }
            else if (record.StartsWith("{\"type\":7"u8) || record.StartsWith("{\"error\""u8))
            {
                throw new InvalidOperationException("SignalR server closed the connection: " + Encoding.UTF8.GetString(record));
            }
        }
    }
}
