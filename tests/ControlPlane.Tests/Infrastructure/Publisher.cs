using NATS.Client.Core;

namespace PubSubGateway.ControlPlane.Tests.Infrastructure;

/// <summary>A backend publishing JSON to a topic's NATS subject at a fixed rate until disposed.</summary>
public sealed class Publisher : IAsyncDisposable
{
    private readonly NatsConnection _nats;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public Publisher(string natsUrl, string topic, int perSecond)
    {
        _nats = new NatsConnection(new NatsOpts { Url = natsUrl });
        _loop = RunAsync("gw.topic." + topic, TimeSpan.FromSeconds(1.0 / perSecond));
    }

    public long Published { get; private set; }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        await _loop;
        await _nats.DisposeAsync();
        _stop.Dispose();
    }

    private async Task RunAsync(string subject, TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                await _nats.PublishAsync(subject, System.Text.Encoding.UTF8.GetBytes($$"""{"i":{{Published}}}"""), cancellationToken: _stop.Token);
                Published++;
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
