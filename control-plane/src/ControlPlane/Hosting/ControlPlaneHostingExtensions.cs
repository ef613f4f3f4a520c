using System.Threading.Channels;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using PubSubGateway.ControlPlane.Admin;
using PubSubGateway.ControlPlane.Configuration;
using PubSubGateway.ControlPlane.Observability;
using PubSubGateway.ControlPlane.Registry;
using PubSubGateway.ControlPlane.Routing;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.LoadBalancing;

namespace PubSubGateway.ControlPlane.Hosting;

internal static class ControlPlaneHostingExtensions
{
    /// <summary>Registers options (validated at start), the NATS connection, the registry, the admin API and the router.</summary>
    public static WebApplicationBuilder AddControlPlane(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ControlPlaneOptions>().BindConfiguration(ControlPlaneOptions.Section).ValidateOnStart();
        services.AddOptions<ControlPlaneNatsOptions>().BindConfiguration(ControlPlaneNatsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ControlPlaneOptions>, ControlPlaneOptionsValidator>();
        services.AddSingleton<IValidateOptions<ControlPlaneNatsOptions>, ControlPlaneOptionsValidator>();

        services.AddSingleton(sp => new NatsConnection(new NatsOpts
        {
            Url = sp.GetRequiredService<IOptions<ControlPlaneNatsOptions>>().Value.Url!,
            Name = "pubsub-control-plane",
            LoggerFactory = sp.GetRequiredService<ILoggerFactory>(),
            RetryOnInitialConnect = true,
            MaxReconnectRetry = -1,
            SubPendingChannelFullMode = BoundedChannelFullMode.Wait,
        }));
        services.AddSingleton<NodeRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeRegistry>());
        services.AddSingleton<ControlPlaneMetrics>();
        services.AddSingleton<NodeCommander>();
        services.AddSingleton<Rebalancer>();
        services.AddHostedService<JoinRebalancer>();
        services.AddSingleton<AdminAuthFilter>();

        services.AddSingleton<RoutingLoad>();
        services.AddSingleton<IProxyConfigProvider, RegistryProxyConfigProvider>();
        services.AddSingleton<ILoadBalancingPolicy, LeastConnectionsPolicy>();
        services.AddReverseProxy();

        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        return builder;
    }

    public static WebApplication MapControlPlane(this WebApplication app)
    {
        ConnectRoutingLoad(app.Services);
        app.MapAdminApi();
        app.MapHealthAndMetrics();
        app.MapRouter();
        return app;
    }

    /// <summary>A heartbeat supersedes the upgrades the router counted for that node since the previous one.</summary>
    private static void ConnectRoutingLoad(IServiceProvider services)
    {
        var registry = services.GetRequiredService<NodeRegistry>();
        var load = services.GetRequiredService<RoutingLoad>();
        registry.HeartbeatReceived += load.HeartbeatReceived;
    }
}
