using System.Diagnostics;
using System.Net.WebSockets;
using PubSubGateway.LoadTest.Payloads;

namespace PubSubGateway.LoadTest.Clients;

/// <summary>Reading frames: the receive loop of a subscribed connection, the close handshake, message accounting.</summary>
internal sealed partial class ResumingSubscriber
{
    /// <summary>
    /// Reads until the connection ends. Returns the <c>after_ms</c> of the <c>reconnect</c> frame that
    /// ended it (null for a drop) and the <see cref="Stopwatch"/> timestamp the client learnt it had to move.
    /// </summary>
    private async Task<(int? AfterMs, long Left)> ReadUntilLeftAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        int? afterMs = null;
        long left = 0;
        using var closeWait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            var length = 0;
            while (true)
            {
                if (length == _buffer.Length)
                {
                    Array.Resize(ref _buffer, _buffer.Length * 2);
                }

                var result = await socket.ReceiveAsync(_buffer.AsMemory(length), closeWait.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await ReplyCloseAsync(socket);
                    if (afterMs is null)
                    {
                        Drops++;
                        left = Stopwatch.GetTimestamp();
                        LastError = $"closed by the server without reconnect: {socket.CloseStatus} {socket.CloseStatusDescription}";
                    }

                    return (afterMs, left);
                }

                length += result.Count;
                if (!result.EndOfMessage)
                {
                    continue;
                }

                var frame = _buffer.AsSpan(0, length);
                switch (GatewayFrame.Kind(frame))
                {
                    case GatewayFrameKind.Message:
                        OnMessage(frame);
                        break;
                    case GatewayFrameKind.Reconnect when afterMs is null:
                        left = Stopwatch.GetTimestamp();
                        _moving = true;
                        var (after, cursor, _) = GatewayFrame.Reconnect(frame, Topic);
                        if (cursor is { } c && c != LastStreamSeq)
                        {
                            CursorMismatches++;
                        }

                        afterMs = after;
                        ReconnectFrames++;
                        _timeline.RecordReconnectFrame(left);

                        // The node closes with 1001 once the frame is flushed; do not wait forever for it.
                        closeWait.CancelAfter(CloseTimeout);
                        break;
                }

                length = 0;
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                return (afterMs, left);
            }

            socket.Abort();
            if (afterMs is null)
            {
                Drops++;
                left = Stopwatch.GetTimestamp();
                LastError = $"{ex.GetType().Name}: {ex.Message}";
            }

            return (afterMs, left);
        }
    }

    /// <summary>Waits for the node's close after a <c>reconnect</c> on a connection that was never subscribed, and answers it.</summary>
    private async Task CloseAfterReconnectAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        using var closeWait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        closeWait.CancelAfter(CloseTimeout);
        try
        {
            while (true)
            {
                var result = await socket.ReceiveAsync(_buffer, closeWait.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await ReplyCloseAsync(socket);
                    return;
                }
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is WebSocketException or OperationCanceledException or IOException)
        {
            socket.Abort();
        }
    }

    /// <summary>Completes the close handshake at once, so the node does not wait for it to count the connection gone.</summary>
    private static async Task ReplyCloseAsync(WebSocket socket)
    {
        if (socket.State != WebSocketState.CloseReceived)
        {
            return;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            await socket.CloseOutputAsync(socket.CloseStatus ?? WebSocketCloseStatus.NormalClosure, null, timeout.Token);
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            socket.Abort();
        }
    }

    private async Task<ReadOnlyMemory<byte>> ReceiveFrameAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var length = 0;
        while (true)
        {
            if (length == _buffer.Length)
            {
                Array.Resize(ref _buffer, _buffer.Length * 2);
            }

            var result = await socket.ReceiveAsync(_buffer.AsMemory(length), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                throw new WebSocketException($"closed by the server: {socket.CloseStatus} {socket.CloseStatusDescription}");
            }

            length += result.Count;
            if (result.EndOfMessage)
            {
                return _buffer.AsMemory(0, length);
            }
        }
    }

    private void OnMessage(ReadOnlySpan<byte> frame)
    {
        var now = Stopwatch.GetTimestamp();
        if (!GatewayFrame.IsForTopic(frame, _topicBytes))
        {
            WrongTopic++;
            return;
        }

        if (!BenchPayload.TryRead(frame, out var seq, out var timestamp))
        {
            return;
        }

        if (GatewayFrame.TryReadStreamSeq(frame, out var streamSeq))
        {
            Durable = true;
            if (streamSeq <= LastStreamSeq)
            {
                StreamSeqRegressions++;
            }
            else
            {
                Volatile.Write(ref _lastStreamSeq, (long)streamSeq);
            }
        }

        if (seq < 0)
        {
            WarmupReceived++;
            return;
        }

        _sequences.Record(seq);
        _timeline.RecordLatency(_index, now - timestamp);
        Volatile.Write(ref _received, _received + 1);
    }
}
