using Microsoft.Extensions.Options;

namespace PubSubGateway.Security;

/// <summary>Fetches the JWKS (when <c>Auth:Jwt:JwksUrl</c> is set) before the node serves, then on a timer.</summary>
internal sealed class JwksRefresher(TokenValidator tokens, IOptions<AuthOptions> options) : BackgroundService
{
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await tokens.RefreshJwksAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (string.IsNullOrEmpty(options.Value.Jwt.JwksUrl))
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(options.Value.Jwt.JwksRefreshSeconds));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            await tokens.RefreshJwksAsync(stoppingToken);
        }
    }
}
