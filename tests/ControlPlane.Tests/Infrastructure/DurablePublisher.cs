using System.Text;
using NATS.Client.Core;
using NATS.Client.JetStream;

namespace PubSubGateway.ControlPlane.Tests.Infrastructure;

/// <summary>
/// A backend publishing <c>{"n":1}</c>, <c>{"n":2}</c>, … to a durable topic at a fixed rate through
/// JetStream. Each message carries <c>Nats-Msg-Id</c> and is retried until acknowledged, so a
/// broker failure delays it but never loses or duplicates it.
/// </summary>
public sealed class DurablePublisher : IAsyncDisposable
{
    private readonly NatsConnection _nats;
    private readonly NatsJSContext _js;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private int _published;

    public DurablePublisher(string natsUrl, string topic, int perSecond)
    {
        _nats = new NatsConnection(new NatsOpts { Url = natsUrl });
        _js = new NatsJSContext(_nats);
        _loop = RunAsync("gw.topic." + topic, TimeSpan.FromSeconds(1.0 / perSecond));
    }

    /// <summary>Messages acknowledged by the stream: numbers 1..Published exist.</summary>
    public int Published => Volatile.Read(ref _published);

    /// <summary>Stops publishing and returns how many messages were acknowledged.</summary>
    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        return Published;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
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
                var n = _published + 1;
                var payload = Encoding.UTF8.GetBytes($$"""{"n":{{n}}}""");
                while (true)
                {
                    try
                    {
                        var ack = await _js.PublishAsync(subject, payload, opts: new NatsJSPubOpts { MsgId = $"{_run}-{n}" }, cancellationToken: _stop.Token);
                        if (ack.Error is null)
                        {
                            break;
                        }
                    }
                    catch (Exception ex) when (ex is NatsException or TimeoutException)
                    {
                    }

                    await Task.Delay(50, _stop.Token);
                }

                Volatile.Write(ref _published, n);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
