using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using PubSubGateway.Cluster;
using PubSubGateway.Configuration;
using PubSubGateway.Connections;
using PubSubGateway.Durable;
using PubSubGateway.Http;
using PubSubGateway.Messaging;
using PubSubGateway.Observability;
using PubSubGateway.Security;
using PubSubGateway.Subscriptions;

namespace PubSubGateway.Hosting;

internal static class GatewayHostingExtensions
{
    /// <summary>Registers the gateway node: options (validated at start), bus, registry, connections.</summary>
    public static WebApplicationBuilder AddGateway(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section).ValidateOnStart();
        services.AddOptions<NatsOptions>().BindConfiguration(NatsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();
        services.AddSingleton<IValidateOptions<NatsOptions>, NatsOptionsValidator>();
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuthOptions>, AuthOptionsValidator>();
        services.AddSingleton<TokenValidator>();
        services.AddSingleton(sp => new TrustedProxies(sp.GetRequiredService<IOptions<GatewayOptions>>().Value.TrustedProxies));
        services.AddSingleton<PublisherAuth>();
        services.AddHostedService<JwksRefresher>();
        services.AddPublishRateLimit();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<GatewayOptions>>((kestrel, gateway) =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.RequestHeadersTimeout = TimeSpan.FromMilliseconds(gateway.Value.Limits.HandshakeTimeoutMs);
            if (gateway.Value.RawHandshake)
            {
                kestrel.ConfigureEndpointDefaults(listen =>
                    listen.Use(next => new RawUpgradeMiddleware(next, listen.ApplicationServices).OnConnectionAsync));
            }
        });

        services.AddSingleton<NodeIdentity>();
        services.AddSingleton<GatewayMetrics>();
        services.AddSingleton<IMessageBus>(sp => string.IsNullOrWhiteSpace(sp.GetRequiredService<IOptions<NatsOptions>>().Value.Url)
            ? new InProcessBus()
            : ActivatorUtilities.CreateInstance<NatsBus>(sp));
        services.AddOptions<DurableOptions>().BindConfiguration(DurableOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DurableOptions>, DurableOptionsValidator>();
        services.AddSingleton<DurableTopics>();
        services.AddSingleton<JetStreamLog>();
        services.AddSingleton<TopicRegistry>();
        services.AddSingleton<ConnectionManager>();
        services.AddSingleton<ConnectionServices>();
        services.AddHostedService<BusLifetime>();
        if (builder.Configuration.GetSection(DurableOptions.Section + ":Patterns").GetChildren().Any())
        {
            services.AddHostedService<DurableStreamSetup>();
        }

        builder.AddGatewayCluster();
        return builder;
    }

    public static WebApplication MapGateway(this WebApplication app)
    {
        var proxies = app.Services.GetRequiredService<IOptions<GatewayOptions>>().Value.TrustedProxies;
        if (proxies.Count > 0)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor, ForwardLimit = 1 };
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            foreach (var network in app.Services.GetRequiredService<TrustedProxies>().Networks)
            {
                forwarded.KnownIPNetworks.Add(network);
            }

            app.UseForwardedHeaders(forwarded);
        }

        app.UseWebSockets();
        app.UseRateLimiter();
        app.MapClientWebSockets();
        app.MapPublishApi();
        app.MapHealthAndMetrics();
        return app;
    }
}
