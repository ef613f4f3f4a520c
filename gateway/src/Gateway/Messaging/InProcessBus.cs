using System.Buffers;
using PubSubGateway.Topics;

namespace PubSubGateway.Messaging;

/// <summary>
/// Single-node bus used when no <c>Nats:Url</c> is configured. Publishing delivers synchronously to
/// every matching subscription; a per-subscription lock keeps each handler single-threaded and in
/// order, like a NATS subscription.
/// </summary>
internal sealed class InProcessBus : IMessageBus
{
    private readonly Lock _gate = new();
    private Subscription[] _subscriptions = [];

    public string Kind => "in-process";

    public bool IsConnected => true;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IAsyncDisposable> SubscribeAsync(string subject, IBusMessageHandler handler, CancellationToken cancellationToken)
    {
        var subscription = new Subscription(this, subject, handler);
        lock (_gate)
        {
            _subscriptions = [.. _subscriptions, subscription];
        }

        return Task.FromResult<IAsyncDisposable>(subscription);
    }

    public ValueTask PublishAsync(string subject, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        var sequence = new ReadOnlySequence<byte>(payload);
        foreach (var subscription in Volatile.Read(ref _subscriptions))
        {
            if (subscription.Exact ? subscription.Subject == subject : TopicPattern.Matches(subscription.Subject, subject))
            {
                subscription.Deliver(subject, sequence);
            }
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private void Remove(Subscription subscription)
    {
        lock (_gate)
        {
            _subscriptions = Array.FindAll(_subscriptions, s => !ReferenceEquals(s, subscription));
        }
    }

    private sealed class Subscription(InProcessBus bus, string subject, IBusMessageHandler handler) : IAsyncDisposable
    {
        private readonly Lock _order = new();

        public string Subject { get; } = subject;

        public bool Exact { get; } = !TopicRules.HasWildcard(subject);

        public void Deliver(string subject, in ReadOnlySequence<byte> payload)
        {
            lock (_order)
            {
                handler.OnMessage(subject, payload);
            }
        }

        public ValueTask DisposeAsync()
        {
            bus.Remove(this);
            return ValueTask.CompletedTask;
        }
    }
}
