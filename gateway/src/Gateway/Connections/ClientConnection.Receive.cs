using System.Buffers;
using System.Net.WebSockets;
using PubSubGateway.Protocol;

namespace PubSubGateway.Connections;

internal sealed partial class ClientConnection
{
    private const int InitialReceiveBuffer = 4 * 1024;

    /// <summary>
    /// Reads client frames until the peer closes. An idle connection holds no receive buffer: it
    /// waits with a zero-byte read and rents a buffer only when a frame starts arriving (the same
    /// trick as YARP's StreamCopier), which keeps idle connections at a few KB each.
    /// </summary>
    private async Task ReceiveLoopAsync()
    {
        var maxFrame = _options.Limits.MaxFrameBytes;
        while (true)
        {
            var probe = await _socket.ReceiveAsync(Memory<byte>.Empty, _aborted.Token);
            if (probe.MessageType == WebSocketMessageType.Close)
            {
                OnPeerClose();
                return;
            }

            var buffer = ArrayPool<byte>.Shared.Rent(InitialReceiveBuffer);
            try
            {
                var length = 0;
                var tooBig = false;
                var result = probe;
                while (!result.EndOfMessage)
                {
                    if (length == buffer.Length)
                    {
                        if (buffer.Length > maxFrame)
                        {
                            tooBig = true;
                            length = 0;
                        }
                        else
                        {
                            var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(buffer.Length * 2, maxFrame + 1));
                            buffer.AsSpan(0, length).CopyTo(bigger);
                            ArrayPool<byte>.Shared.Return(buffer);
                            buffer = bigger;
                        }
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(length), _aborted.Token);
                    if (result.MessageType == WebSocketMessageType.Close)
                    {
                        OnPeerClose();
                        return;
                    }

                    length += result.Count;
                    tooBig |= length > maxFrame;
                }

                if (IsClosing)
                {
                    // Closing: wait for the peer's close frame, ignoring anything it still sends.
                    continue;
                }

                if (tooBig)
                {
                    Reject(CloseCodes.MessageTooBig, $"frame larger than {maxFrame} bytes");
                    continue;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    ReplyError(null, ErrorCodes.BadRequest, "binary frames are not supported; send UTF-8 JSON text frames");
                    continue;
                }

                Volatile.Write(ref _lastActivityTicks, Environment.TickCount64);
                await HandleFrameAsync(buffer.AsMemory(0, length));
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private void OnPeerClose()
    {
        if (!IsClosing)
        {
            var code = _socket.CloseStatus is { } status ? (int)status : CloseCodes.Normal;
            RequestClose(code == CloseCodes.GoingAway ? CloseCodes.GoingAway : CloseCodes.Normal, "bye", discardPending: true);
        }
    }

    private void Reject(int closeCode, string reason)
    {
        _metrics.ProtocolErrors.WithLabels("close_" + closeCode.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
        Log.Rejected(_services.Logger, closeCode, reason);
        RequestClose(closeCode, reason, discardPending: true);
    }
}
