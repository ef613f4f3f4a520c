using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using PubSubGateway.Configuration;
using PubSubGateway.Observability;

namespace PubSubGateway.Messaging;

/// <summary>
/// NATS-backed bus. One NATS connection per node; NATS.Net reconnects on its own and re-sends
/// every live SUB after a reconnect, so local subscriptions survive a broker restart.
/// </summary>
internal sealed partial class NatsBus : IMessageBus
{
    private readonly NatsConnection _connection;
    private readonly GatewayMetrics _metrics;
    private readonly ILogger<NatsBus> _logger;

    public NatsBus(IOptions<NatsOptions> options, IOptions<GatewayOptions> gateway, GatewayMetrics metrics, ILoggerFactory loggerFactory)
    {
        _metrics = metrics;
        _logger = loggerFactory.CreateLogger<NatsBus>();
        var nats = options.Value;
        _connection = new NatsConnection(new NatsOpts
        {
            Url = nats.Url!,
            Name = $"pubsub-gateway {gateway.Value.NodeId}",
            LoggerFactory = loggerFactory,
            ConnectTimeout = TimeSpan.FromMilliseconds(nats.ConnectTimeoutMs),
            RetryOnInitialConnect = true,
            MaxReconnectRetry = -1,
            SubPendingChannelCapacity = nats.SubscriptionPendingCapacity,
            SubPendingChannelFullMode = BoundedChannelFullMode.DropNewest,
        });
        _connection.MessageDropped += OnMessageDropped;
        _connection.ConnectionDisconnected += OnDisconnected;
        _connection.ConnectionOpened += OnOpened;
    }

    public string Kind => "nats";

    public bool IsConnected => _connection.ConnectionState == NatsConnectionState.Open;

    /// <summary>The underlying connection, for features that need NATS itself (registry, commands).</summary>
    public NatsConnection Connection => _connection;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _connection.ConnectAsync();
        }
        catch (NatsException ex)
        {
            // RetryOnInitialConnect keeps trying in the background; the node stays not-ready meanwhile.
            Log.InitialConnectFailed(_logger, ex.Message);
        }
    }

    public async Task<IAsyncDisposable> SubscribeAsync(string subject, IBusMessageHandler handler, CancellationToken cancellationToken)
    {
        var sub = await _connection.SubscribeCoreAsync<NatsMemoryOwner<byte>>(subject, cancellationToken: cancellationToken);
        var pump = Task.Run(() => PumpAsync(sub, handler), CancellationToken.None);

        // A PING round trip proves the server has processed our SUB: anything published after
        // this returns reaches the subscription.
        if (IsConnected)
        {
            await _connection.PingAsync(cancellationToken);
        }

        return new Subscription(sub, pump);
    }

    public ValueTask PublishAsync(string subject, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken) =>
        _connection.PublishAsync(subject, payload, cancellationToken: cancellationToken);

    public async ValueTask DisposeAsync()
    {
        _connection.MessageDropped -= OnMessageDropped;
        await _connection.DisposeAsync();
    }

    private async Task PumpAsync(INatsSub<NatsMemoryOwner<byte>> sub, IBusMessageHandler handler)
    {
        await foreach (var msg in sub.Msgs.ReadAllAsync())
        {
            using var data = msg.Data;
            try
            {
                handler.OnMessage(msg.Subject, new ReadOnlySequence<byte>(data.Memory));
            }
            catch (Exception ex)
            {
                Log.HandlerFailed(_logger, msg.Subject, ex);
            }
        }
    }

    private ValueTask OnMessageDropped(object? sender, NatsMessageDroppedEventArgs args)
    {
        _metrics.Dropped(DropReason.NatsPending);
        return ValueTask.CompletedTask;
    }

    private ValueTask OnDisconnected(object? sender, NatsEventArgs args)
    {
        _metrics.NatsConnected.Set(0);
        Log.Disconnected(_logger, args.Message);
        return ValueTask.CompletedTask;
    }

    private ValueTask OnOpened(object? sender, NatsEventArgs args)
    {
        _metrics.NatsConnected.Set(1);
        Log.Connected(_logger, args.Message);
        return ValueTask.CompletedTask;
    }

    private sealed class Subscription(INatsSub<NatsMemoryOwner<byte>> sub, Task pump) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await sub.DisposeAsync();
            await pump;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Warning, "NATS not reachable at start-up ({Reason}); retrying in the background", EventName = "NatsInitialConnectFailed")]
        public static partial void InitialConnectFailed(ILogger logger, string reason);

        [LoggerMessage(2, LogLevel.Warning, "NATS connection lost: {Reason}", EventName = "NatsDisconnected")]
        public static partial void Disconnected(ILogger logger, string reason);

        [LoggerMessage(3, LogLevel.Information, "NATS connection open: {Reason}", EventName = "NatsConnected")]
        public static partial void Connected(ILogger logger, string reason);

        [LoggerMessage(4, LogLevel.Error, "Handling a message on {Subject} failed", EventName = "NatsHandlerFailed")]
        public static partial void HandlerFailed(ILogger logger, string subject, Exception exception);
    }
}
