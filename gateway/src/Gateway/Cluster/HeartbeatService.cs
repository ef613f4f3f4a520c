using System.Text.Json;
using Microsoft.Extensions.Options;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using PubSubGateway.Configuration;
using PubSubGateway.Connections;
using PubSubGateway.Messaging;
using PubSubGateway.Observability;
using PubSubGateway.Subscriptions;

namespace PubSubGateway.Cluster;

/// <summary>
/// Writes this node's entry to the KV bucket every heartbeat interval and at once on a state
/// change; deletes it when the node stops, so routers drop the node without waiting for the TTL.
/// </summary>
internal sealed partial class HeartbeatService(
    IMessageBus bus,
    NodeIdentity node,
    NodeLifecycle lifecycle,
    ConnectionManager connections,
    TopicRegistry topics,
    GatewayMetrics metrics,
    IOptions<ClusterOptions> options,
    IHostApplicationLifetime lifetime,
    ILogger<HeartbeatService> logger) : BackgroundService
{
    private INatsKVStore? _store;

    public string ControlSubject => $"{options.Value.ControlSubjectPrefix}.{node.Id}";

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (_store is not null)
        {
            // Bounded: with NATS unreachable the entry simply expires after the TTL.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                await _store.DeleteAsync(node.Id, cancellationToken: timeout.Token);
            }
            catch (Exception ex) when (ex is NatsKVException or NATS.Client.Core.NatsException or OperationCanceledException)
            {
                Log.DeregisterFailed(logger, ex.Message);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var interval = TimeSpan.FromMilliseconds(settings.HeartbeatIntervalMs);

        // Register only once Kestrel listens: before that the advertised URL may still be the
        // configured one (port 0) and a router would send clients to a node that cannot take them.
        try
        {
            await Task.Delay(Timeout.Infinite, lifetime.ApplicationStarted).WaitAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStarted.IsCancellationRequested)
        {
        }
        catch (OperationCanceledException)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                _store ??= await OpenBucketAsync(settings, stoppingToken);
                await _store.PutAsync(node.Id, JsonSerializer.SerializeToUtf8Bytes(Snapshot(settings), ClusterJsonContext.Default.NodeHeartbeat), cancellationToken: stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NATS.Client.Core.NatsException or NatsJSException or NatsKVException or TimeoutException)
            {
                // NATS down or JetStream not ready yet: the next beat retries; the TTL covers the gap.
                Log.HeartbeatFailed(logger, ex.Message);
            }

            try
            {
                await lifecycle.WaitChangedAsync(interval, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<INatsKVStore> OpenBucketAsync(ClusterOptions settings, CancellationToken cancellationToken)
    {
        var kv = new NatsKVContext(new NatsJSContext(((NatsBus)bus).Connection));
        var store = await kv.CreateOrUpdateStoreAsync(
            new NatsKVConfig(settings.Bucket)
            {
                History = 1,
                MaxAge = TimeSpan.FromMilliseconds(settings.NodeTtlMs),
                Storage = NatsKVStorageType.Memory,
                NumberOfReplicas = settings.Replicas,
                Description = "pubsub-gateway node heartbeats (key = node id)",
            },
            cancellationToken);
        Log.Registered(logger, node.Id, settings.Bucket, ControlSubject);
        return store;
    }

    private NodeHeartbeat Snapshot(ClusterOptions settings) => new(
        node.Id,
        node.AdvertiseUrl,
        NodeLifecycle.Name(lifecycle.State),
        connections.Count,
        (long)metrics.Subscriptions.Value,
        topics.TopicCount,
        node.Version,
        node.StartedAt,
        DateTimeOffset.UtcNow,
        settings.HeartbeatIntervalMs,
        ControlSubject);

    private static partial class Log
    {
        [LoggerMessage(410, LogLevel.Information, "Node {NodeId} heartbeats into KV bucket {Bucket}; commands on {Subject}", EventName = "NodeRegistered")]
        public static partial void Registered(ILogger logger, string nodeId, string bucket, string subject);

        [LoggerMessage(411, LogLevel.Warning, "Heartbeat failed: {Reason}", EventName = "HeartbeatFailed")]
        public static partial void HeartbeatFailed(ILogger logger, string reason);

        [LoggerMessage(412, LogLevel.Warning, "Could not remove this node's registry entry: {Reason}", EventName = "DeregisterFailed")]
        public static partial void DeregisterFailed(ILogger logger, string reason);
    }
}
