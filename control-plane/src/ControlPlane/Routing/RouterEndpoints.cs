using PubSubGateway.ControlPlane.Observability;
using Yarp.ReverseProxy.Model;

namespace PubSubGateway.ControlPlane.Routing;

internal static class RouterEndpoints
{
    /// <summary>YARP's standard pipeline plus a step after load balancing that counts requests per chosen node.</summary>
    public static IEndpointRouteBuilder MapRouter(this WebApplication app)
    {
        app.UseWebSockets();
        var metrics = app.Services.GetRequiredService<ControlPlaneMetrics>();
        app.MapReverseProxy(proxy =>
        {
            proxy.UseSessionAffinity();
            proxy.UseLoadBalancing();
            proxy.Use((context, next) =>
            {
                var chosen = context.GetReverseProxyFeature().AvailableDestinations;
                metrics.Routed(chosen.Count == 1 ? chosen[0].DestinationId : "none", context.WebSockets.IsWebSocketRequest);
                return next();
            });
            proxy.UsePassiveHealthChecks();
        });
        return app;
    }
}
