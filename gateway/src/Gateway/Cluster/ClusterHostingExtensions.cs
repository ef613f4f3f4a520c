using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace PubSubGateway.Cluster;

internal static class ClusterHostingExtensions
{
    /// <summary>
    /// Drain on SIGTERM always; with <c>Nats:Url</c> also the registry heartbeat and control commands
    /// (a single node on the in-process bus has no control plane to talk to).
    /// </summary>
    public static WebApplicationBuilder AddGatewayCluster(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<ClusterOptions>().BindConfiguration(ClusterOptions.Section).ValidateOnStart();
        services.AddOptions<DrainOptions>().BindConfiguration(DrainOptions.Section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ClusterOptions>, ClusterOptionsValidator>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<DrainOptions>, ClusterOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<NodeLifecycle>();
        services.AddSingleton<ConnectionShedder>();
        services.AddSingleton<DrainCoordinator>();
        services.AddHostedService<ShutdownDrain>();

        if (!string.IsNullOrWhiteSpace(builder.Configuration["Nats:Url"]))
        {
            services.AddHostedService<HeartbeatService>();
            services.AddHostedService<CommandService>();
        }

        return builder;
    }
}
