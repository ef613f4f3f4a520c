using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Options;
using PubSubGateway.Configuration;
using PubSubGateway.Messaging;
using PubSubGateway.Observability;
using PubSubGateway.Protocol;
using PubSubGateway.Security;
using PubSubGateway.Subscriptions;
using PubSubGateway.Topics;

namespace PubSubGateway.Http;

/// <summary>
/// <c>POST /api/v1/publish/{topic}</c>: publishes the JSON request body to a topic, for backends that
/// don't speak NATS. Errors are JSON: <c>{"error":{"code":…,"message":…}}</c> with 400 (bad_topic,
/// bad_request), 413 (too_large) or 503 (broker unavailable).
/// </summary>
internal static class PublishEndpoint
{
    public static IEndpointRouteBuilder MapPublishApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/api/v1/publish/{**topic}", PublishAsync).RequireRateLimiting(RateLimits.PublishPolicy);
        return endpoints;
    }

    private static async Task<IResult> PublishAsync(
        string? topic,
        HttpRequest request,
        IOptions<GatewayOptions> options,
        IMessageBus bus,
        TopicRegistry topics,
        GatewayMetrics metrics,
        PublisherAuth auth)
    {
        var limits = options.Value.Limits;
        topic ??= string.Empty;
        var topicError = TopicRules.Validate(topic, allowWildcards: false, limits.MaxTopicBytes, limits.MaxTopicTokens);
        if (topicError != TopicError.None)
        {
            return HttpErrors.Problem(StatusCodes.Status400BadRequest, ErrorCodes.BadTopic, TopicRules.Describe(topicError));
        }

        var denied = await auth.AuthorizeAsync(request, topic);
        if (denied is not null)
        {
            return denied;
        }

        if (request.ContentLength > limits.MaxPayloadBytes)
        {
            return TooLarge(limits.MaxPayloadBytes, metrics);
        }

        var body = await ReadBodyAsync(request.BodyReader, limits.MaxPayloadBytes, request.HttpContext.RequestAborted);
        if (body is null)
        {
            return TooLarge(limits.MaxPayloadBytes, metrics);
        }

        if (!JsonPayload.IsValid(body, limits.MaxJsonDepth))
        {
            metrics.Dropped(DropReason.InvalidJson);
            return HttpErrors.Problem(StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, $"the body must be exactly one JSON value nested at most {limits.MaxJsonDepth} deep");
        }

        if (!bus.IsConnected)
        {
            return HttpErrors.Problem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.Internal, "the message broker is not available; retry later");
        }

        var subject = topics.SubjectFor(topic);
        PublishAccepted accepted;
        if (topics.IsDurable(topic))
        {
            var msgId = request.Headers["Nats-Msg-Id"].ToString();
            if (msgId.Length > 128)
            {
                return HttpErrors.Problem(StatusCodes.Status400BadRequest, ErrorCodes.BadRequest, "Nats-Msg-Id is longer than 128 characters");
            }

            try
            {
                var (seq, duplicate) = await topics.Log!.PublishAsync(subject, body, msgId.Length > 0 ? msgId : null, request.HttpContext.RequestAborted);
                accepted = new PublishAccepted(topic, seq, duplicate ? true : null);
            }
            catch (Exception ex) when (ex is NATS.Client.Core.NatsException or TimeoutException)
            {
                return HttpErrors.Problem(StatusCodes.Status503ServiceUnavailable, ErrorCodes.Internal, "the durable store did not acknowledge the message; retry with the same Nats-Msg-Id");
            }
        }
        else
        {
            await bus.PublishAsync(subject, body, request.HttpContext.RequestAborted);
            accepted = new PublishAccepted(topic, null, null);
        }

        metrics.Received(MessageSource.Http);
        return Results.Json(accepted, GatewayJsonContext.Default.PublishAccepted, statusCode: StatusCodes.Status202Accepted);
    }

    private static IResult TooLarge(int max, GatewayMetrics metrics)
    {
        metrics.Dropped(DropReason.TooLarge);
        return HttpErrors.Problem(StatusCodes.Status413PayloadTooLarge, ErrorCodes.TooLarge, $"the body is larger than {max} bytes");
    }

    /// <summary>Reads at most <paramref name="max"/> bytes; null when the body is longer.</summary>
    private static async Task<byte[]?> ReadBodyAsync(PipeReader reader, int max, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            var buffer = result.Buffer;
            if (buffer.Length > max)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                return null;
            }

            if (result.IsCompleted)
            {
                var body = buffer.ToArray();
                reader.AdvanceTo(buffer.End);
                return body;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }
}

/// <summary>HTTP publish answer; <c>seq</c> (and <c>duplicate</c> for a repeated Nats-Msg-Id) on durable topics.</summary>
internal sealed record PublishAccepted(
    string Topic,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] ulong? Seq,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] bool? Duplicate);
