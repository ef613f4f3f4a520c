using System.Diagnostics;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using PubSubGateway.LoadTest.Measurement;
using PubSubGateway.LoadTest.Payloads;

namespace PubSubGateway.LoadTest.Clients;

/// <summary>
/// A protocol-v1 client that does what a well-behaved app does when its node is drained: on a
/// <c>reconnect</c> frame it answers the close, waits <c>after_ms</c>, connects again through the
/// router and subscribes with <c>since</c> = the last durable <c>seq</c> it received; after a drop
/// (close without <c>reconnect</c>, reset) it does the same at once. On a plain topic (frames without
/// <c>seq</c>) it subscribes again without <c>since</c>, so whatever was published while it moved is
/// lost, and counted. Loss and duplicates are counted by the publisher's own per-topic numbers
/// (<see cref="SequenceTracker"/>): the stream sequence is shared by every topic of the stream.
/// The receive loop is in <c>ResumingSubscriber.Receive.cs</c>.
/// </summary>
internal sealed partial class ResumingSubscriber : IAsyncDisposable
{
    private static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(2);

    private readonly int _index;
    private readonly WebSocketConnector _connector;
    private readonly DrainTimeline _timeline;
    private readonly SequenceTracker _sequences;
    private readonly byte[] _topicBytes;
    private byte[] _buffer;
    private WebSocket? _socket;
    private Task? _loop;
    private volatile string? _node;
    private volatile bool _moving;
    private long _lastStreamSeq;
    private long _received;
    private long _resubscribedAt;
    private long _subSent;

    public ResumingSubscriber(int index, string topic, WebSocketConnector connector, DrainTimeline timeline, long expectedMessages, int receiveBufferBytes)
    {
        _index = index;
        Topic = topic;
        _topicBytes = Encoding.ASCII.GetBytes(topic);
        _connector = connector;
        _timeline = timeline;
        _sequences = new SequenceTracker(expectedMessages);
        _buffer = new byte[receiveBufferBytes];
    }

    public string Topic { get; }

    /// <summary>The node of the current connection (from <c>hello</c>); null while moving.</summary>
    public string? Node => _node;

    /// <summary>True from the moment the client has to leave its node until it is subscribed again.</summary>
    public bool Moving => _moving;

    /// <summary>The last durable stream sequence received (0 before the first, or on a plain topic).</summary>
    public ulong LastStreamSeq => (ulong)Volatile.Read(ref _lastStreamSeq);

    /// <summary>True once a <c>msg</c> frame carried a stream <c>seq</c>: the topic is durable.</summary>
    public bool Durable { get; private set; }

    public long Received => Volatile.Read(ref _received);

    public long WarmupReceived { get; private set; }

    public long Distinct => _sequences.Distinct;

    public long Duplicates => _sequences.Duplicates;

    public long OutOfOrder => _sequences.OutOfOrder;

    /// <summary>Frames whose stream <c>seq</c> was not above the previous one (a duplicate or a step back at the resume seam).</summary>
    public long StreamSeqRegressions { get; private set; }

    /// <summary><c>msg</c> frames of a topic this client never subscribed to (must stay 0; not counted as deliveries).</summary>
    public long WrongTopic { get; private set; }

    /// <summary><c>reconnect</c> frames received on a subscribed connection.</summary>
    public int ReconnectFrames { get; private set; }

    /// <summary>Connections that ended without a <c>reconnect</c> frame (reset, close by the server).</summary>
    public int Drops { get; private set; }

    /// <summary>Times the client was subscribed again after leaving a node.</summary>
    public int Resubscribes { get; private set; }

    /// <summary>A new connection that got <c>reconnect</c> before its <c>sub</c> was acknowledged (routed to the draining node).</summary>
    public int Bounces { get; private set; }

    /// <summary>Connect or subscribe attempts that failed (refused, HTTP error, timeout, <c>err</c> reply).</summary>
    public int FailedAttempts { get; private set; }

    /// <summary>Resumes answered with <c>history_gone</c> (the client then subscribed without <c>since</c>).</summary>
    public int HistoryGone { get; private set; }

    /// <summary>Cursors in <c>reconnect</c> frames that differed from the last <c>seq</c> received.</summary>
    public int CursorMismatches { get; private set; }

    public string? LastError { get; private set; }

    /// <summary><see cref="Stopwatch"/> timestamp of the last time this client was subscribed again (0 if never).</summary>
    public long ResubscribedAt => Volatile.Read(ref _resubscribedAt);

    /// <summary>Connects through the router and subscribes; a failure here fails the run.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        var bounced = await ConnectAndSubscribeAsync(cancellationToken);
        if (bounced is not null)
        {
            throw new InvalidOperationException($"client {_index} was told to reconnect before its first sub was acknowledged");
        }
    }

    /// <summary>Starts following the connection; it ends when <paramref name="cancellationToken"/> fires.</summary>
    public void Start(CancellationToken cancellationToken) => _loop = RunAsync(cancellationToken);

    /// <summary>Messages of [0, <paramref name="published"/>) never received.</summary>
    public long Missing(long published) => _sequences.Missing(published);

    public async ValueTask DisposeAsync()
    {
        var socket = _socket;
        if (socket is { State: WebSocketState.Open })
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            try
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "done", timeout.Token);
            }
            catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or IOException or ObjectDisposedException)
            {
            }
        }

        socket?.Abort();
        if (_loop is not null)
        {
            await _loop;
        }

        socket?.Dispose();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var socket = _socket!;
            var (afterMs, left) = await ReadUntilLeftAsync(socket, cancellationToken);
            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            _moving = true;
            _node = null;
            _socket = null;
            socket.Dispose();
            try
            {
                // after_ms counts from the reconnect frame; a drop is retried at once.
                var wait = TimeSpan.FromMilliseconds(afterMs ?? 0) - Stopwatch.GetElapsedTime(left);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, cancellationToken);
                }

                await ResumeAsync(left, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            _moving = false;
        }
    }

    /// <summary>Connects again until subscribed; every failed attempt is counted and retried with a growing pause.</summary>
    private async Task ResumeAsync(long left, CancellationToken cancellationToken)
    {
        var backoff = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attempt.CancelAfter(AttemptTimeout);
            var connectStarted = Stopwatch.GetTimestamp();
            try
            {
                if (await ConnectAndSubscribeAsync(attempt.Token) is { } afterMs)
                {
                    Bounces++;
                    await Task.Delay(afterMs, cancellationToken);
                    continue;
                }

                var acked = Stopwatch.GetTimestamp();
                Resubscribes++;
                Volatile.Write(ref _resubscribedAt, acked);
                _timeline.RecordResubscribed(left, connectStarted, _subSent, acked);
                return;
            }
            catch (SubscribeRefusedException ex) when (ex.Code == "history_gone")
            {
                // What an app does: reload from its own store, then subscribe without since. Here the gap shows up as loss.
                HistoryGone++;
                Volatile.Write(ref _lastStreamSeq, 0);
                continue;
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested && ex is WebSocketException or IOException or SocketException or OperationCanceledException or InvalidOperationException or SubscribeRefusedException)
            {
                FailedAttempts++;
                LastError = ex is OperationCanceledException ? $"attempt timed out after {AttemptTimeout.TotalSeconds:0} s" : $"{ex.GetType().Name}: {ex.Message}";
            }

            await Task.Delay(backoff, cancellationToken);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
        }
    }

    /// <summary>
    /// Opens a connection, reads <c>hello</c>, sends <c>sub</c> (with <c>since</c> when resuming a durable
    /// topic) and waits for the <c>ack</c>. Returns null when subscribed, or the <c>after_ms</c> of a
    /// <c>reconnect</c> that came first (the router still sent us to the draining node).
    /// </summary>
    private async Task<int?> ConnectAndSubscribeAsync(CancellationToken cancellationToken)
    {
        var socket = await _connector.ConnectAsync(cancellationToken);
        try
        {
            var hello = await ReceiveFrameAsync(socket, cancellationToken);
            if (GatewayFrame.Kind(hello.Span) != GatewayFrameKind.Hello)
            {
                throw new WebSocketException("expected hello, got " + Encoding.UTF8.GetString(hello.Span));
            }

            var node = GatewayFrame.HelloNode(hello.Span);
            var since = LastStreamSeq;
            var sub = since > 0
                ? $"{{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"{Topic}\",\"since\":{since}}}"
                : $"{{\"op\":\"sub\",\"id\":\"1\",\"topic\":\"{Topic}\"}}";
            _subSent = Stopwatch.GetTimestamp();
            await socket.SendAsync(Encoding.UTF8.GetBytes(sub), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
            while (true)
            {
                var frame = await ReceiveFrameAsync(socket, cancellationToken);
                switch (GatewayFrame.Kind(frame.Span))
                {
                    case GatewayFrameKind.Ack:
                        _socket = socket;
                        _node = node;
                        return null;
                    case GatewayFrameKind.Message:
                        OnMessage(frame.Span);
                        break;
                    case GatewayFrameKind.Reconnect:
                        var afterMs = GatewayFrame.Reconnect(frame.Span, Topic).AfterMs;
                        await CloseAfterReconnectAsync(socket, cancellationToken);
                        socket.Dispose();
                        return afterMs;
                    case GatewayFrameKind.Error:
                        throw new SubscribeRefusedException(GatewayFrame.ErrorCode(frame.Span) ?? "?", Encoding.UTF8.GetString(frame.Span));
                }
            }
        }
        catch
        {
            socket.Abort();
            socket.Dispose();
            throw;
        }
    }

    private sealed class SubscribeRefusedException(string code, string frame) : Exception($"sub refused: {frame}")
    {
        public string Code { get; } = code;
    }
}
