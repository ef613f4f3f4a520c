using Microsoft.Extensions.Options;
using PubSubGateway.Cluster;
using PubSubGateway.ControlPlane.Configuration;
using PubSubGateway.ControlPlane.Observability;
using PubSubGateway.ControlPlane.Registry;

namespace PubSubGateway.ControlPlane.Admin;

/// <summary>
/// <c>/api/v1/nodes</c> and <c>/api/v1/rebalance</c>. Reads come from the registry snapshot; commands
/// go to the node over NATS, and the node's reply decides the answer (409 when the node's own state
/// refuses it), so two replicas acting at once cannot both start the same drain.
/// </summary>
internal static class AdminEndpoints
{
    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/v1").AddEndpointFilter<AdminAuthFilter>();
        api.MapGet("/nodes", (NodeRegistry registry) =>
            Results.Json(new NodeList([.. registry.Current.Sorted.Select(NodeView.From)]), AdminJsonContext.Default.NodeList));
        api.MapGet("/nodes/{id}", (string id, NodeRegistry registry) =>
            registry.Current.Nodes.TryGetValue(id, out var node)
                ? Results.Json(NodeView.From(node), AdminJsonContext.Default.NodeView)
                : NotFound(id));
        api.MapPost("/nodes/{id}/drain", DrainAsync);
        api.MapPost("/nodes/{id}/undrain", UndrainAsync);
        api.MapPost("/rebalance", RebalanceAsync);
        return endpoints;
    }

    private static async Task<IResult> DrainAsync(string id, HttpRequest request, NodeRegistry registry, NodeCommander commander, ControlPlaneMetrics metrics)
    {
        if (!registry.Current.Nodes.TryGetValue(id, out var node))
        {
            return NotFound(id);
        }

        var (deadlineMs, error) = await DrainRequest.ReadAsync(request);
        if (error is not null)
        {
            return AdminResults.Error(StatusCodes.Status400BadRequest, "bad_request", error);
        }

        if (!node.IsActive)
        {
            return WrongState(id, node.Heartbeat.State, "drain");
        }

        var reply = await commander.SendAsync(node, new NodeCommand("drain", DeadlineMs: deadlineMs), request.HttpContext.RequestAborted);
        var result = ToResult(id, reply, "drain", deadlineMs);
        if (reply is { Ok: true })
        {
            metrics.Drains.Inc();
        }

        return result;
    }

    private static async Task<IResult> UndrainAsync(string id, HttpRequest request, NodeRegistry registry, NodeCommander commander)
    {
        if (!registry.Current.Nodes.TryGetValue(id, out var node))
        {
            return NotFound(id);
        }

        if (node.IsActive)
        {
            return WrongState(id, node.Heartbeat.State, "undrain");
        }

        var reply = await commander.SendAsync(node, new NodeCommand("undrain"), request.HttpContext.RequestAborted);
        return ToResult(id, reply, "undrain", null);
    }

    private static async Task<IResult> RebalanceAsync(HttpContext context, Rebalancer rebalancer) =>
        Results.Json(await rebalancer.RunAsync(context.RequestAborted), AdminJsonContext.Default.RebalanceResult, statusCode: StatusCodes.Status202Accepted);

    private static IResult ToResult(string id, NodeCommandReply? reply, string command, int? deadlineMs) => reply switch
    {
        null => AdminResults.Error(StatusCodes.Status504GatewayTimeout, "node_unreachable", $"node '{id}' did not answer the {command} command"),
        { Ok: true } => Results.Json(new CommandAccepted(id, reply.State, deadlineMs), AdminJsonContext.Default.CommandAccepted, statusCode: StatusCodes.Status202Accepted),
        { Error: "wrong_state" } => WrongState(id, reply.State, command),
        _ => AdminResults.Error(StatusCodes.Status400BadRequest, reply.Error ?? "bad_request", reply.Message ?? "the node refused the command"),
    };

    private static IResult NotFound(string id) =>
        AdminResults.Error(StatusCodes.Status404NotFound, "not_found", $"no live node '{id}'");

    private static IResult WrongState(string id, string state, string command) =>
        AdminResults.Error(StatusCodes.Status409Conflict, "wrong_state", $"node '{id}' is {state}; {command} does not apply");
}
