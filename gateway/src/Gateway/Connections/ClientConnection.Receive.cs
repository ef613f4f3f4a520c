using System.Buffers;
using System.Net.WebSockets;
using PubSubGateway.Protocol;

namespace PubSubGateway.Connections;

internal sealed partial class ClientConnection
{
    private const int InitialReceiveBuffer = 4 * 1024;

    /// <summary>
    /// Runs the connection until either side closes it; never throws for client misbehaviour. The
    /// receive loop is inline so that an idle connection holds one async state machine here, not
    /// two. An idle connection holds no receive buffer either: it waits with a zero-byte read and
    /// rents a buffer only when a frame starts arriving (the same trick as YARP's StreamCopier).
    /// </summary>
    public async Task RunAsync(CancellationToken requestAborted)
    {
        var id = _services.Manager.Register(this);
        using var registration = requestAborted.UnsafeRegister(static s => ((ClientConnection)s!).Abort(), this);
        Send(ServerFrames.Hello(_services.Node.Id, _options.Heartbeat.IntervalMs));
        var writer = WriteLoopAsync();
        try
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
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            // The peer vanished or the socket was aborted: nothing to answer.
        }
        catch (Exception ex)
        {
            Log.ConnectionFailed(_services.Logger, ex);
            RequestClose(CloseCodes.InternalError, "internal error", discardPending: true);
        }
        finally
        {
            await ReleaseSubscriptionsAsync();
            if (!IsClosing)
            {
                RequestClose(CloseCodes.Normal, "closed", discardPending: true);
            }

            await writer;
            _services.Manager.Unregister(id, this);
            _metrics.ConnectionsClosed.WithLabels(_closeCode.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
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
