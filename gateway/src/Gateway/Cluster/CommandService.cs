using System.Text.Json;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using PubSubGateway.Configuration;
using PubSubGateway.Messaging;

namespace PubSubGateway.Cluster;

/// <summary>
/// Answers control commands on <c>&lt;prefix&gt;.&lt;node id&gt;</c> (NATS request/reply):
/// <c>drain</c>, <c>undrain</c>, <c>shed</c>. Replies say whether the command applied and the state after it.
/// </summary>
internal sealed partial class CommandService(
    IMessageBus bus,
    NodeIdentity node,
    DrainCoordinator drains,
    IOptions<ClusterOptions> cluster,
    IOptions<DrainOptions> drain,
    ILogger<CommandService> logger) : BackgroundService
{
    private const int MaxWindowMs = 3_600_000;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connection = ((NatsBus)bus).Connection;
        var subject = $"{cluster.Value.ControlSubjectPrefix}.{node.Id}";
        try
        {
            await foreach (var msg in connection.SubscribeAsync<byte[]>(subject, cancellationToken: stoppingToken))
            {
                var reply = Handle(msg.Data, stoppingToken);
                if (msg.ReplyTo is not null)
                {
                    await msg.ReplyAsync(JsonSerializer.SerializeToUtf8Bytes(reply, ClusterJsonContext.Default.NodeCommandReply), cancellationToken: stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private NodeCommandReply Handle(byte[]? payload, CancellationToken stopping)
    {
        NodeCommand? command;
        try
        {
            command = payload is { Length: > 0 } ? JsonSerializer.Deserialize(payload, ClusterJsonContext.Default.NodeCommand) : null;
        }
        catch (JsonException)
        {
            command = null;
        }

        Log.Command(logger, command?.Cmd ?? "(unreadable)");
        return command?.Cmd switch
        {
            "drain" => Drain(command),
            "undrain" => drains.TryUndrain(out var state)
                ? Ok(state)
                : WrongState(state, "node is already active"),
            "shed" => Shed(command, stopping),
            _ => BadRequest("expected {\"cmd\":\"drain|undrain|shed\"}"),
        };
    }

    private NodeCommandReply Drain(NodeCommand command)
    {
        if (command.DeadlineMs is < 0 or > MaxWindowMs)
        {
            return BadRequest($"deadline_ms must be between 0 and {MaxWindowMs}");
        }

        var window = command.DeadlineMs is { } ms ? TimeSpan.FromMilliseconds(ms) : drains.DefaultWindow;
        return drains.TryStartDrain(window, "drain", out var state)
            ? Ok(state)
            : WrongState(state, $"node is {NodeLifecycle.Name(state)}");
    }

    private NodeCommandReply Shed(NodeCommand command, CancellationToken stopping)
    {
        if (command.Count is not > 0 || command.WindowMs is < 0 or > MaxWindowMs)
        {
            return BadRequest($"shed needs count > 0 and window_ms between 0 and {MaxWindowMs}");
        }

        var window = TimeSpan.FromMilliseconds(command.WindowMs ?? drain.Value.ShedWindowMs);
        var lifecycleState = drains.CurrentState;
        if (lifecycleState != NodeState.Active)
        {
            return WrongState(lifecycleState, $"node is {NodeLifecycle.Name(lifecycleState)}");
        }

        return Ok(NodeState.Active) with { Shedding = drains.Shed(command.Count.Value, window, "rebalance", stopping) };
    }

    private static NodeCommandReply Ok(NodeState state) => new(true, NodeLifecycle.Name(state));

    private static NodeCommandReply WrongState(NodeState state, string message) => new(false, NodeLifecycle.Name(state), "wrong_state", message);

    private NodeCommandReply BadRequest(string message) => new(false, NodeLifecycle.Name(drains.CurrentState), "bad_request", message);

    private static partial class Log
    {
        [LoggerMessage(420, LogLevel.Information, "Control command {Command}", EventName = "ControlCommand")]
        public static partial void Command(ILogger logger, string command);
    }
}
