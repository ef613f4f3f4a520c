using System.Text.Json.Serialization;

namespace PubSubGateway.Http;

/// <summary>The JSON error body every HTTP endpoint uses: <c>{"error":{"code":"…","message":"…"}}</c>.</summary>
internal static class HttpErrors
{
    public static IResult Problem(int status, string code, string message) =>
        Results.Json(new ErrorBody(new ErrorDetail(code, message)), GatewayJsonContext.Default.ErrorBody, statusCode: status);
}

internal sealed record ErrorBody(ErrorDetail Error);

internal sealed record ErrorDetail(string Code, string Message);

internal sealed record HealthStatus(string Status, string Node, string Bus, bool BusConnected, int Connections);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(ErrorBody))]
[JsonSerializable(typeof(PublishAccepted))]
[JsonSerializable(typeof(HealthStatus))]
internal sealed partial class GatewayJsonContext : JsonSerializerContext;
