using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.KeyValueStore;
using PubSubGateway.Cluster;
using PubSubGateway.ControlPlane.Configuration;
using PubSubGateway.ControlPlane.Registry;

namespace PubSubGateway.ControlPlane.Admin;

/// <summary>
/// With <c>ControlPlane:Rebalance:OnJoin</c>, rebalances after a node joins. Every replica sees the
/// join; each tries to create the key <c>join.&lt;node&gt;.&lt;start time&gt;</c> in a KV bucket and only
/// the one whose create succeeds acts, so N replicas still shed once per join.
/// </summary>
internal sealed partial class JoinRebalancer(
    NodeRegistry registry,
    Rebalancer rebalancer,
    NatsConnection nats,
    IOptions<ControlPlaneOptions> options,
    ILogger<JoinRebalancer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value.Rebalance;
        if (!settings.OnJoin)
        {
            return;
        }

        var joins = System.Threading.Channels.Channel.CreateUnbounded<NodeHeartbeat>();
        registry.NodeJoined += heartbeat => joins.Writer.TryWrite(heartbeat);
        INatsKVStore? claims = null;
        try
        {
            await foreach (var joined in joins.Reader.ReadAllAsync(stoppingToken))
            {
                await Task.Delay(settings.JoinDelayMs, stoppingToken);
                try
                {
                    claims ??= await new NatsKVContext(new NatsJSContext(nats)).CreateOrUpdateStoreAsync(
                        new NatsKVConfig(settings.ClaimBucket) { History = 1, MaxAge = TimeSpan.FromMinutes(10), Storage = NatsKVStorageType.Memory },
                        stoppingToken);
                    await claims.CreateAsync($"join.{joined.Id}.{joined.StartedAt.UtcTicks}", "1"u8.ToArray(), cancellationToken: stoppingToken);
                }
                catch (NatsKVCreateException)
                {
                    continue; // another replica took this join
                }
                catch (Exception ex) when (ex is NatsException or TimeoutException)
                {
                    Log.ClaimFailed(logger, joined.Id, ex.Message);
                    continue;
                }

                var result = await rebalancer.RunAsync(stoppingToken);
                Log.Rebalanced(logger, joined.Id, result.Moves.Count);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(140, LogLevel.Information, "Node {NodeId} joined: rebalanced, {Moves} node(s) asked to shed", EventName = "JoinRebalanced")]
        public static partial void Rebalanced(ILogger logger, string nodeId, int moves);

        [LoggerMessage(141, LogLevel.Warning, "Could not claim the rebalance for node {NodeId}: {Reason}", EventName = "JoinClaimFailed")]
        public static partial void ClaimFailed(ILogger logger, string nodeId, string reason);
    }
}
