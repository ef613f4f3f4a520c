using NATS.Client.Core;
using NATS.Client.JetStream;

namespace PubSubGateway.Durable;

/// <summary>
/// Creates or updates the durable-topics stream when the node starts. It waits up to 15 s (a fresh
/// JetStream cluster needs a moment to elect a leader), then keeps trying in the background; the
/// node is not ready until the stream exists.
/// </summary>
internal sealed partial class DurableStreamSetup(IServiceProvider services, ILogger<DurableStreamSetup> logger) : BackgroundService
{
    // Resolved when starting, not when the host builds its hosted services: options validation
    // (which reports a durable pattern without Nats:Url) runs in between.
    private JetStreamLog _log = null!;

    private static readonly TimeSpan StartupBudget = TimeSpan.FromSeconds(15);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        _log = services.GetRequiredService<JetStreamLog>();
        var deadline = DateTime.UtcNow + StartupBudget;
        while (!_log.IsReady && DateTime.UtcNow < deadline && !cancellationToken.IsCancellationRequested)
        {
            await TryOnceAsync(cancellationToken);
            if (!_log.IsReady)
            {
                await Task.Delay(250, cancellationToken);
            }
        }

        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!_log.IsReady && !stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(TimeSpan.FromSeconds(2), stoppingToken);
            await TryOnceAsync(stoppingToken);
        }
    }

    private async Task TryOnceAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _log.EnsureStreamAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is NatsException or NatsJSException or TimeoutException or InvalidOperationException)
        {
            Log.NotYet(logger, ex.Message);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(52, LogLevel.Warning, "Durable-topics stream not ready yet: {Reason}", EventName = "DurableStreamPending")]
        public static partial void NotYet(ILogger logger, string reason);
    }
}
