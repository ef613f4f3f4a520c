namespace PubSubGateway.LoadTest.Publishing;

/// <summary>A backend publishing JSON payloads to gateway topics.</summary>
internal interface IBenchPublisher : IAsyncDisposable
{
    string Kind { get; }

    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Publishes; <paramref name="payload"/> may be reused by the caller once this completes.</summary>
    ValueTask PublishAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken);

    /// <summary>Returns when everything published so far has left this process.</summary>
    Task FlushAsync(CancellationToken cancellationToken);
}
