using System.Buffers;

namespace PubSubGateway.Messaging;

/// <summary>Receives messages of one bus subscription, one at a time and in order.</summary>
internal interface IBusMessageHandler
{
    void OnMessage(string subject, in ReadOnlySequence<byte> payload);
}

/// <summary>
/// The broker between nodes: NATS in a cluster (<see cref="NatsBus"/>), or an in-process bus for a
/// single node (<see cref="InProcessBus"/>). Both deliver the same way so the same behaviour tests
/// run against either.
/// </summary>
internal interface IMessageBus : IAsyncDisposable
{
    /// <summary>"nats" or "in-process" (a metrics label and log value).</summary>
    string Kind { get; }

    /// <summary>False while the broker connection is down.</summary>
    bool IsConnected { get; }

    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Subscribes to a subject (wildcards allowed). Returns once the broker has registered the
    /// interest, so a message published after the call completes is delivered.
    /// </summary>
    Task<IAsyncDisposable> SubscribeAsync(string subject, IBusMessageHandler handler, CancellationToken cancellationToken);

    ValueTask PublishAsync(string subject, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);
}
