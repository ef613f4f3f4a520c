using Microsoft.Extensions.Options;
using PubSubGateway.Topics;

namespace PubSubGateway.Cluster;

/// <summary>Reports every bad cluster or drain setting at once, each naming its key.</summary>
internal sealed class ClusterOptionsValidator(IOptions<HostOptions> host) : IValidateOptions<ClusterOptions>, IValidateOptions<DrainOptions>
{
    public ValidateOptionsResult Validate(string? name, ClusterOptions options)
    {
        var errors = new List<string>();
        Range(errors, "Gateway:Cluster:HeartbeatIntervalMs", options.HeartbeatIntervalMs, 50, 60_000);
        Range(errors, "Gateway:Cluster:NodeTtlMs", options.NodeTtlMs, 200, 600_000);
        Range(errors, "Gateway:Cluster:Replicas", options.Replicas, 1, 5);
        if (options.NodeTtlMs < 2 * options.HeartbeatIntervalMs)
        {
            errors.Add($"Gateway:Cluster:NodeTtlMs is {options.NodeTtlMs}; it must be at least twice Gateway:Cluster:HeartbeatIntervalMs ({options.HeartbeatIntervalMs}) so one late beat does not drop the node.");
        }

        if (string.IsNullOrEmpty(options.Bucket) || !options.Bucket.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            errors.Add($"Gateway:Cluster:Bucket '{options.Bucket}' must be a KV bucket name of [A-Za-z0-9_-].");
        }

        if (!TopicRules.IsValidPrefix(options.ControlSubjectPrefix))
        {
            errors.Add($"Gateway:Cluster:ControlSubjectPrefix '{options.ControlSubjectPrefix}' must be NATS subject tokens ([A-Za-z0-9_-] joined by '.').");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, DrainOptions options)
    {
        var errors = new List<string>();
        Range(errors, "Gateway:Drain:WindowMs", options.WindowMs, 0, 3_600_000);
        Range(errors, "Gateway:Drain:ShedWindowMs", options.ShedWindowMs, 0, 3_600_000);
        Range(errors, "Gateway:Drain:MaxReconnectDelayMs", options.MaxReconnectDelayMs, 0, 60_000);
        var shutdown = host.Value.ShutdownTimeout;
        if (options.WindowMs >= shutdown.TotalMilliseconds)
        {
            errors.Add($"Gateway:Drain:WindowMs is {options.WindowMs}; it must be shorter than the host shutdown timeout ({shutdown.TotalMilliseconds} ms) or SIGTERM kills the node mid-drain.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Range(List<string> errors, string key, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{key} is {value}; it must be between {min} and {max}.");
        }
    }
}
