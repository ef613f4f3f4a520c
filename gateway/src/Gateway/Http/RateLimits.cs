using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using PubSubGateway.Configuration;
using PubSubGateway.Protocol;

namespace PubSubGateway.Http;

/// <summary>Per-client-IP token bucket on the HTTP publish API (429 with a JSON error when exceeded).</summary>
internal static class RateLimits
{
    public const string PublishPolicy = "publish";

    public static IServiceCollection AddPublishRateLimit(this IServiceCollection services)
    {
        services.AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = (context, _) => new ValueTask(HttpErrors
                .Problem(StatusCodes.Status429TooManyRequests, ErrorCodes.RateLimited, "too many publish requests from this address")
                .ExecuteAsync(context.HttpContext));
            limiter.AddPolicy(PublishPolicy, context =>
            {
                var rate = context.RequestServices.GetRequiredService<IOptions<GatewayOptions>>().Value.Limits.HttpPublishRatePerSecond;
                return RateLimitPartition.GetTokenBucketLimiter(
                    context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
                    _ => new TokenBucketRateLimiterOptions
                    {
                        TokenLimit = rate,
                        TokensPerPeriod = rate,
                        ReplenishmentPeriod = TimeSpan.FromSeconds(1),
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    });
            });
        });
        return services;
    }
}
