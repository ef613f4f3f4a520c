using Microsoft.Extensions.Options;

namespace PubSubGateway.Configuration;

/// <summary>
/// Checks every setting and reports all failures at once, each naming its configuration key,
/// so an operator fixes a bad deployment in one round.
/// </summary>
internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        var errors = new List<string>();
        var limits = options.Limits;
        Range(errors, "Gateway:Limits:MaxFrameBytes", limits.MaxFrameBytes, 256, 16 * 1024 * 1024);
        Range(errors, "Gateway:Limits:MaxPayloadBytes", limits.MaxPayloadBytes, 16, 8 * 1024 * 1024);
        Range(errors, "Gateway:Limits:MaxSubscriptionsPerConnection", limits.MaxSubscriptionsPerConnection, 1, 100_000);
        Range(errors, "Gateway:Limits:MaxConnections", limits.MaxConnections, 1, 10_000_000);
        Range(errors, "Gateway:Limits:MaxTopicBytes", limits.MaxTopicBytes, 1, 256);
        Range(errors, "Gateway:Limits:MaxTopicTokens", limits.MaxTopicTokens, 1, 16);
        Range(errors, "Gateway:Limits:MaxErrorsPerWindow", limits.MaxErrorsPerWindow, 1, 1_000_000);
        Range(errors, "Gateway:Limits:ErrorWindowSeconds", limits.ErrorWindowSeconds, 1, 3600);
        Range(errors, "Gateway:Limits:PublishRatePerSecond", limits.PublishRatePerSecond, 1, 1_000_000);
        Range(errors, "Gateway:Limits:PublishBurst", limits.PublishBurst, 1, 1_000_000);
        Range(errors, "Gateway:Limits:MaxRateLimitStrikes", limits.MaxRateLimitStrikes, 1, 1_000_000);
        Range(errors, "Gateway:Limits:MaxConnectionsPerIp", limits.MaxConnectionsPerIp, 1, 10_000_000);
        Range(errors, "Gateway:Limits:MaxConnectionsPerUser", limits.MaxConnectionsPerUser, 1, 10_000_000);
        Range(errors, "Gateway:Limits:HandshakeTimeoutMs", limits.HandshakeTimeoutMs, 100, 600_000);
        Range(errors, "Gateway:Limits:IdleTimeoutMs", limits.IdleTimeoutMs, 100, 86_400_000);
        Range(errors, "Gateway:Limits:MaxJsonDepth", limits.MaxJsonDepth, 2, 256);
        Range(errors, "Gateway:Limits:HttpPublishRatePerSecond", limits.HttpPublishRatePerSecond, 1, 10_000_000);
        foreach (var proxy in options.TrustedProxies)
        {
            if (!System.Net.IPNetwork.TryParse(proxy, out _) && !System.Net.IPAddress.TryParse(proxy, out _))
            {
                errors.Add($"Gateway:TrustedProxies entry '{proxy}' must be an IP address or a CIDR range like 10.0.0.0/8.");
            }
        }

        foreach (var origin in options.AllowedOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/" || origin.EndsWith('/'))
            {
                errors.Add($"Gateway:AllowedOrigins entry '{origin}' must be an origin like https://app.example.com (scheme, host, optional port; no path).");
            }
        }

        var outbound = options.Outbound;
        Range(errors, "Gateway:Outbound:MaxQueueBytes", outbound.MaxQueueBytes, 4 * 1024, 1024 * 1024 * 1024);
        Range(errors, "Gateway:Outbound:CloseTimeoutMs", outbound.CloseTimeoutMs, 100, 600_000);
        Range(errors, "Gateway:Outbound:DirectWriteMaxSubscribers", outbound.DirectWriteMaxSubscribers, 0, 1_000_000);
        if (!Enum.IsDefined(outbound.SlowConsumerPolicy))
        {
            errors.Add("Gateway:Outbound:SlowConsumerPolicy must be Disconnect or DropOldest.");
        }

        if (outbound.MaxQueueBytes < limits.MaxPayloadBytes + 512)
        {
            errors.Add("Gateway:Outbound:MaxQueueBytes must exceed Gateway:Limits:MaxPayloadBytes by at least 512 bytes, or one message could never be queued.");
        }

        Range(errors, "Gateway:Heartbeat:IntervalMs", options.Heartbeat.IntervalMs, 100, 3_600_000);
        Range(errors, "Gateway:Heartbeat:TimeoutMs", options.Heartbeat.TimeoutMs, 100, 3_600_000);
        if (options.Heartbeat.TimeoutMs < options.Heartbeat.IntervalMs)
        {
            errors.Add("Gateway:Heartbeat:TimeoutMs must be at least Gateway:Heartbeat:IntervalMs.");
        }

        if (!Topics.TopicRules.IsValidPrefix(options.SubjectPrefix))
        {
            errors.Add($"Gateway:SubjectPrefix '{options.SubjectPrefix}' must be 1-64 bytes of NATS subject tokens ([A-Za-z0-9_-] joined by '.').");
        }

        if (options.AdvertiseUrl is { Length: > 0 } url && !Uri.TryCreate(url, UriKind.Absolute, out _))
        {
            errors.Add($"Gateway:AdvertiseUrl '{url}' is not an absolute URL.");
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

internal sealed class NatsOptionsValidator : IValidateOptions<NatsOptions>
{
    public ValidateOptionsResult Validate(string? name, NatsOptions options)
    {
        var errors = new List<string>();
        if (options.Url is { Length: > 0 } urls)
        {
            foreach (var url in urls.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("nats" or "tls" or "ws" or "wss"))
                {
                    errors.Add($"Nats:Url entry '{url}' must be an absolute nats://, tls://, ws:// or wss:// URL.");
                }
            }
        }

        if (options.SubscriptionPendingCapacity is < 16 or > 10_000_000)
        {
            errors.Add($"Nats:SubscriptionPendingCapacity is {options.SubscriptionPendingCapacity}; it must be between 16 and 10000000.");
        }

        if (options.ConnectTimeoutMs is < 100 or > 600_000)
        {
            errors.Add($"Nats:ConnectTimeoutMs is {options.ConnectTimeoutMs}; it must be between 100 and 600000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
