using System.Text.Json;

namespace PubSubGateway.ControlPlane.Admin;

/// <summary>
/// Body of <c>POST /api/v1/nodes/{id}/drain</c>: empty (the node's configured window) or
/// <c>{"deadline_ms": n}</c> with 0 &lt; n ≤ 3,600,000, the window the reconnects are spread over.
/// </summary>
internal static class DrainRequest
{
    public const int MaxDeadlineMs = 3_600_000;

    /// <summary>Reads the deadline; returns an error message for a bad body.</summary>
    public static async Task<(int? DeadlineMs, string? Error)> ReadAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        if (string.IsNullOrWhiteSpace(body))
        {
            return (null, null);
        }

        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, "body must be a JSON object like {\"deadline_ms\":30000}");
            }

            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name != "deadline_ms")
                {
                    return (null, $"unknown field '{property.Name}'; expected deadline_ms");
                }
            }

            if (!doc.RootElement.TryGetProperty("deadline_ms", out var deadline))
            {
                return (null, null);
            }

            return deadline.ValueKind == JsonValueKind.Number && deadline.TryGetInt32(out var ms) && ms is > 0 and <= MaxDeadlineMs
                ? (ms, null)
                : (null, $"deadline_ms must be an integer between 1 and {MaxDeadlineMs}");
        }
        catch (JsonException)
        {
            return (null, "body is not valid JSON");
        }
    }
}
