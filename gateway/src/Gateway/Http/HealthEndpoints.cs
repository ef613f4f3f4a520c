using PubSubGateway.Cluster;
using PubSubGateway.Configuration;
using PubSubGateway.Connections;
using PubSubGateway.Messaging;
using PubSubGateway.Observability;
using PubSubGateway.Subscriptions;

namespace PubSubGateway.Http;

/// <summary><c>/healthz/live</c>, <c>/healthz/ready</c> (503 while the broker is down) and <c>/metrics</c>.</summary>
internal static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthAndMetrics(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz/live", () => Results.Text("ok"));
        endpoints.MapGet("/healthz/ready", (NodeIdentity node, IMessageBus bus, ConnectionManager connections, NodeLifecycle lifecycle, TopicRegistry topics) =>
        {
            var ready = bus.IsConnected && lifecycle.IsAcceptingClients && topics.Log is not { IsReady: false };
            var status = new HealthStatus(ready ? "ready" : "not_ready", node.Id, bus.Kind, bus.IsConnected, connections.Count);
            return Results.Json(status, GatewayJsonContext.Default.HealthStatus, statusCode: ready ? 200 : 503);
        });
        endpoints.MapGet("/metrics", async (HttpContext context, GatewayMetrics metrics) =>
        {
            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await metrics.Registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        });
        return endpoints;
    }
}
