using System.Diagnostics;
using System.Net.WebSockets;
using PubSubGateway.Configuration;
using PubSubGateway.Observability;
using PubSubGateway.Protocol;
using PubSubGateway.Security;
using PubSubGateway.Subscriptions;

namespace PubSubGateway.Connections;

/// <summary>
/// One client WebSocket: a read loop that parses and answers frames (<c>ClientConnection.Receive.cs</c>,
/// <c>ClientConnection.Ops.cs</c>) and a single writer loop that drains the connection's
/// <see cref="OutboundQueue"/>. A frame either goes through the queue or, while the writer is
/// parked on an empty queue, is written directly (<c>ClientConnection.Direct.cs</c>); the queue
/// decides which, so frames keep their order and a slow socket never blocks fan-out.
/// </summary>
internal sealed partial class ClientConnection : IDisposable
{
    private readonly WebSocket _socket;
    private readonly UpgradedStream _stream;
    private readonly ConnectionServices _services;
    private readonly GatewayOptions _options;
    private readonly GatewayMetrics _metrics;
    private readonly Dictionary<string, Subscriber> _subscriptions = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _aborted = new();
    private int _closeCode;
    private string? _closeReason;
    private Timer? _abortTimer;
    private volatile ClientIdentity _identity;
    private volatile int _subscriptionCount;
    private long _lastActivityTicks = Environment.TickCount64;

    public ClientConnection(WebSocket socket, UpgradedStream stream, ConnectionServices services, ClientIdentity identity)
    {
        _socket = socket;
        _stream = stream;
        _services = services;
        _options = services.Options;
        _metrics = services.Metrics;
        _identity = identity;
        _publishTokens = _options.Limits.PublishBurst;
        _lastRefillTicks = System.Diagnostics.Stopwatch.GetTimestamp();
        Queue = new OutboundQueue(_options.Outbound.MaxQueueBytes, _options.Outbound.SlowConsumerPolicy);
    }

    public OutboundQueue Queue { get; }

    public ClientIdentity Identity => _identity;

    /// <summary>True when this connection's frames are written straight to its socket.</summary>
    public bool WritesToSocket => _stream.WritesToSocket;

    /// <summary>
    /// The <c>reconnect</c> frame for a drain or rebalance, carrying for each durable subscription the
    /// last sequence queued to the client. Those subscriptions are sealed first, so nothing newer is
    /// delivered here afterwards and the client can resume from exactly these cursors.
    /// </summary>
    public OutboundFrame ReconnectFrame(string reason, int afterMs)
    {
        List<KeyValuePair<string, ulong>>? cursors = null;
        Subscriber[] subscribers;
        lock (_subscriptions)
        {
            subscribers = [.. _subscriptions.Values];
        }

        foreach (var subscriber in subscribers)
        {
            if (subscriber.Durable)
            {
                (cursors ??= []).Add(new(subscriber.Key, subscriber.Seal()));
            }
        }

        return ServerFrames.Reconnect(reason, afterMs, cursors);
    }

    /// <summary>
    /// Called once a second by the node's sweeper: closes with 4001 once the token has expired (a
    /// client refreshes it with the <c>auth</c> op before then), and with 1008 when the connection
    /// has no subscription and has sent nothing for <paramref name="idleTimeoutMs"/>.
    /// </summary>
    public void CheckDeadlines(DateTimeOffset now, long nowTicks, int idleTimeoutMs)
    {
        if (IsClosing)
        {
            return;
        }

        if (_identity.Expires is { } expires && now >= expires)
        {
            Reject(CloseCodes.TokenExpired, "token expired");
        }
        else if (_subscriptionCount == 0 && nowTicks - Volatile.Read(ref _lastActivityTicks) > idleTimeoutMs)
        {
            Reject(CloseCodes.PolicyViolation, "idle: no subscription and no frame within the idle timeout");
        }
    }

    public bool IsClosing => Volatile.Read(ref _closeCode) != 0;

    /// <summary>Sends a frame this connection owns (a reply). Fan-out uses <see cref="Enqueue"/> with a shared frame.</summary>
    public void Send(OutboundFrame frame) => Enqueue(frame, direct: true);

    /// <summary>
    /// Sends a (possibly shared) frame, taking over one of its references. With
    /// <paramref name="direct"/> it is written at once on the caller's thread when the connection
    /// is idle (see <see cref="WriteDirect"/>); otherwise it is queued for the writer loop, applying
    /// the slow-consumer policy when the queue is full.
    /// </summary>
    public void Enqueue(OutboundFrame frame, bool direct)
    {
        if (direct && Queue.TryBeginDirect())
        {
            WriteDirect(frame);
            return;
        }

        EnqueueForWriter(frame);
    }

    private void EnqueueForWriter(OutboundFrame frame)
    {
        var dropped = Queue.Enqueue(frame);
        if (dropped > 0)
        {
            _metrics.Dropped(DropReason.QueueFull, dropped);
        }
        else if (dropped < 0 && !IsClosing)
        {
            _metrics.Dropped(DropReason.SlowConsumer);
            Log.SlowConsumer(_services.Logger, Queue.Bytes);
            RequestClose(CloseCodes.SlowConsumer, "slow consumer", discardPending: true);
        }
    }

    /// <summary>
    /// Starts closing: no more frames are queued, the writer sends the close frame after what is
    /// still queued (or at once when <paramref name="discardPending"/>), and the socket is aborted
    /// if the close has not completed within <c>Gateway:Outbound:CloseTimeoutMs</c>.
    /// </summary>
    public void RequestClose(int code, string reason, bool discardPending)
    {
        if (Interlocked.CompareExchange(ref _closeCode, code, 0) != 0)
        {
            return;
        }

        _closeReason = reason;
        Queue.Complete(discardPending);
        _abortTimer = new Timer(static s => ((ClientConnection)s!).Abort(), this, _options.Outbound.CloseTimeoutMs, Timeout.Infinite);
    }

    public void Dispose()
    {
        _abortTimer?.Dispose();
        _aborted.Dispose();
    }

    private void Abort()
    {
        try
        {
            _aborted.Cancel();
            _socket.Abort();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>A batch is written out once it holds this much (the writer loop stops adding then).</summary>
    internal const int BatchBytes = 32 * 1024;

    /// <summary>
    /// Waits for frames. An idle connection gives its batch buffer back first; a busy one keeps it
    /// (under back-pressure a thousand busy connections each hold one, and renting afresh per batch
    /// missed the pool and allocated 41 B per delivery at 2 M deliveries/s in the fan-out benchmark).
    /// </summary>
    private ValueTask<bool> WaitForFramesAsync(ref byte[]? batch, ref long[]? stamps)
    {
        if (Queue.Count == 0)
        {
            ReturnBuffers(ref batch, ref stamps);
        }

        return Queue.WaitAsync();
    }

    private static void ReturnBuffers(ref byte[]? batch, ref long[]? stamps)
    {
        if (batch is not null)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(batch);
            batch = null;
        }

        if (stamps is not null)
        {
            System.Buffers.ArrayPool<long>.Shared.Return(stamps);
            stamps = null;
        }
    }

    private async Task WriteLoopAsync()
    {
        byte[]? batch = null;
        long[]? stamps = null;
        try
        {
            while (await WaitForFramesAsync(ref batch, ref stamps))
            {
                if (_socket.State is not (WebSocketState.Open or WebSocketState.CloseReceived))
                {
                    // ManagedWebSocket closed or aborted the socket itself (e.g. 1007): no data frame may follow.
                    Abort();
                    break;
                }

                // Everything already queued (up to one batch) goes out as one socket write. Frames
                // carry their WebSocket header already, so each is one copy into the batch: no
                // ManagedWebSocket.SendAsync (its send lock, header and copy) per delivery. The
                // delivery latency of each message is taken once that write has completed.
                await _stream.EnterWriteAsync(_aborted.Token);
                stamps ??= System.Buffers.ArrayPool<long>.Shared.Rent(64);
                var delivered = 0;
                try
                {
                    var length = 0;
                    while (length < BatchBytes && Queue.TryDequeue(out var frame))
                    {
                        var wire = frame.Wire.Span;
                        if (batch is null || length + wire.Length > batch.Length)
                        {
                            var bigger = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(length + wire.Length, BatchBytes + 1024));
                            batch?.AsSpan(0, length).CopyTo(bigger);
                            if (batch is not null)
                            {
                                System.Buffers.ArrayPool<byte>.Shared.Return(batch);
                            }

                            batch = bigger;
                        }

                        wire.CopyTo(batch.AsSpan(length));
                        length += wire.Length;
                        if (frame.IsMessage)
                        {
                            if (delivered == stamps.Length)
                            {
                                var more = System.Buffers.ArrayPool<long>.Shared.Rent(stamps.Length * 2);
                                stamps.CopyTo(more, 0);
                                System.Buffers.ArrayPool<long>.Shared.Return(stamps);
                                stamps = more;
                            }

                            stamps[delivered++] = frame.Timestamp;
                        }

                        frame.Release();
                    }

                    if (length > 0)
                    {
                        await _stream.WriteHeldAsync(batch.AsMemory(0, length), _aborted.Token);
                    }
                }
                finally
                {
                    _stream.ExitWrite();
                }

                _metrics.Deliveries.Record(stamps.AsSpan(0, delivered), Stopwatch.GetTimestamp());
            }

            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                await _socket.CloseOutputAsync((WebSocketCloseStatus)_closeCode, _closeReason, _aborted.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
        {
            Abort();
        }
        finally
        {
            Queue.Complete(discardPending: true);
            ReturnBuffers(ref batch, ref stamps);
        }
    }

    private async Task ReleaseSubscriptionsAsync()
    {
        Subscriber[] subscribers;
        lock (_subscriptions)
        {
            subscribers = [.. _subscriptions.Values];
            _subscriptions.Clear();
        }

        foreach (var subscriber in subscribers)
        {
            await _services.Topics.RemoveAsync(subscriber);
        }

        _subscriptionCount = 0;
    }
}
