using System.Buffers;
using NATS.Client.Core;

namespace PubSubGateway.Messaging;

/// <summary>
/// A core NATS subscription whose messages are handed to the fan-out on NATS.Net's socket reader,
/// straight from the read buffer. NATS.Net's own subscriptions copy each payload into a pooled
/// owner, queue it on a channel and wake a reader task for it; here neither the copy nor the hop
/// happens. Fan-out only encodes and queues (it never waits on a client), so the reader is held
/// for microseconds per message. The topics benchmark (10,000 connections, one topic each,
/// 5,000 msg/s) went from two thread-pool hops per message between NATS and the client socket to
/// none (BENCHMARKS.md).
/// </summary>
internal sealed class InlineNatsSubscription : NatsSubBase, IAsyncDisposable
{
    private readonly IBusMessageHandler _handler;
    private readonly Action<string, Exception> _onHandlerFailed;

    public InlineNatsSubscription(NatsConnection connection, string subject, IBusMessageHandler handler, Action<string, Exception> onHandlerFailed)
        : base(connection, connection.SubscriptionManager, subject, queueGroup: null, opts: null)
    {
        _handler = handler;
        _onHandlerFailed = onHandlerFailed;
    }

    protected override ValueTask ReceiveInternalAsync(string subject, string? replyTo, ReadOnlySequence<byte>? headersBuffer, ReadOnlySequence<byte> payloadBuffer)
    {
        try
        {
            _handler.OnMessage(subject, payloadBuffer);
        }
        catch (Exception ex)
        {
            // A failing handler must not end the subscription or the connection's reader.
            _onHandlerFailed(subject, ex);
        }

        return ValueTask.CompletedTask;
    }

    protected override void TryComplete()
    {
    }
}
