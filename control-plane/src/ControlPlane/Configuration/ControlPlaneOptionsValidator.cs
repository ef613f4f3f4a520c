using Microsoft.Extensions.Options;

namespace PubSubGateway.ControlPlane.Configuration;

/// <summary>Checks every setting, reporting all failures at once, each naming its configuration key.</summary>
internal sealed class ControlPlaneOptionsValidator : IValidateOptions<ControlPlaneOptions>, IValidateOptions<ControlPlaneNatsOptions>
{
    public ValidateOptionsResult Validate(string? name, ControlPlaneOptions options)
    {
        var errors = new List<string>();
        if (options.AdminToken is { Length: > 0 } token && token.Length < 12)
        {
            errors.Add("ControlPlane:AdminToken must be at least 12 characters (or unset, for a loopback-only admin API).");
        }

        if (string.IsNullOrEmpty(options.Bucket) || !options.Bucket.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            errors.Add($"ControlPlane:Bucket '{options.Bucket}' must be a KV bucket name of [A-Za-z0-9_-].");
        }

        Range(errors, "ControlPlane:NodeTtlMs", options.NodeTtlMs, 200, 600_000);
        Range(errors, "ControlPlane:CommandTimeoutMs", options.CommandTimeoutMs, 100, 60_000);
        Range(errors, "ControlPlane:Router:ActivityTimeoutSeconds", options.Router.ActivityTimeoutSeconds, 1, 86_400);
        Range(errors, "ControlPlane:Rebalance:TolerancePercent", options.Rebalance.TolerancePercent, 0, 1_000);
        Range(errors, "ControlPlane:Rebalance:ShedWindowMs", options.Rebalance.ShedWindowMs, 0, 3_600_000);
        Range(errors, "ControlPlane:Rebalance:JoinDelayMs", options.Rebalance.JoinDelayMs, 0, 600_000);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    public ValidateOptionsResult Validate(string? name, ControlPlaneNatsOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Url))
        {
            return ValidateOptionsResult.Fail("Nats:Url is required: the control plane reads the node registry from NATS KV.");
        }

        var errors = new List<string>();
        foreach (var url in options.Url.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls" or "ws" or "wss"))
            {
                errors.Add($"Nats:Url entry '{url}' must be an absolute nats://, tls://, ws:// or wss:// URL.");
            }
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
