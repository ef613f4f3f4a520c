namespace PubSubGateway.Cluster;

/// <summary>
/// SIGTERM (or any host stop) drains the node before Kestrel stops: <see cref="IHostedLifecycleService.StoppingAsync"/>
/// runs before any hosted service's StopAsync, including the web server's, so clients still get
/// their paced <c>reconnect</c> and a 1001 close instead of a dropped socket.
/// </summary>
internal sealed partial class ShutdownDrain(DrainCoordinator drains, ILogger<ShutdownDrain> logger) : IHostedLifecycleService
{
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        if (drains.TryStartDrain(drains.DefaultWindow, "shutdown", out _))
        {
            Log.SelfDrain(logger, (int)drains.DefaultWindow.TotalMilliseconds);
        }

        try
        {
            await drains.WhenDrained.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            Log.DrainCutShort(logger);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(430, LogLevel.Information, "Stopping: draining clients over {WindowMs} ms first", EventName = "SelfDrain")]
        public static partial void SelfDrain(ILogger logger, int windowMs);

        [LoggerMessage(431, LogLevel.Warning, "Shutdown timeout reached before the drain finished", EventName = "DrainCutShort")]
        public static partial void DrainCutShort(ILogger logger);
    }
}
