using NATS.Client.Core;

namespace PubSubGateway.LoadTest.Publishing;

/// <summary>Publishes to <c>&lt;prefix&gt;.&lt;topic&gt;</c> on NATS, as a backend service would.</summary>
internal sealed class NatsBenchPublisher(string url, string subjectPrefix) : IBenchPublisher
{
    private readonly NatsConnection _connection = new(new NatsOpts { Url = url, Name = "pubsub-gateway loadtest" });
    private readonly Dictionary<string, string> _subjects = new(StringComparer.Ordinal);

    public string Kind => "nats";

    public async Task StartAsync(CancellationToken cancellationToken) => await _connection.ConnectAsync();

    public ValueTask PublishAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (!_subjects.TryGetValue(topic, out var subject))
        {
            subject = subjectPrefix + "." + topic;
            _subjects[topic] = subject;
        }

        return _connection.PublishAsync(subject, payload, cancellationToken: cancellationToken);
    }

    public async Task FlushAsync(CancellationToken cancellationToken) => await _connection.PingAsync(cancellationToken);

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
