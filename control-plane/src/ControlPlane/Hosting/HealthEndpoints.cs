using NATS.Client.Core;
using PubSubGateway.ControlPlane.Observability;
using PubSubGateway.ControlPlane.Registry;

namespace PubSubGateway.ControlPlane.Hosting;

/// <summary><c>/healthz/live</c>, <c>/healthz/ready</c> (503 until NATS is up and the registry loaded) and <c>/metrics</c>.</summary>
internal static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthAndMetrics(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz/live", () => Results.Text("ok"));
        endpoints.MapGet("/healthz/ready", (NatsConnection nats, NodeRegistry registry) =>
        {
            var ready = nats.ConnectionState == NatsConnectionState.Open && registry.IsLoaded;
            return Results.Text(ready ? "ready" : "not ready", statusCode: ready ? 200 : 503);
        });
        endpoints.MapGet("/metrics", async (HttpContext context, ControlPlaneMetrics metrics) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        });
        return endpoints;
    }
}
