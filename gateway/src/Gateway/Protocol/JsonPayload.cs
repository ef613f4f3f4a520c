using System.Buffers;
using System.Text.Json;

namespace PubSubGateway.Protocol;

/// <summary>Checks that a payload is exactly one JSON value, without allocating for valid input.</summary>
internal static class JsonPayload
{
    /// <summary>Payloads from backends may nest deeper than client frames (<c>Gateway:Limits:MaxJsonDepth</c>).</summary>
    private static readonly JsonReaderOptions Options = new() { MaxDepth = 256 };

    public static bool IsValid(ReadOnlySpan<byte> payload) => IsValid(new Utf8JsonReader(payload, Options));

    public static bool IsValid(ReadOnlySpan<byte> payload, int maxDepth) =>
        IsValid(new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = maxDepth }));

    public static bool IsValid(in ReadOnlySequence<byte> payload) =>
        payload.IsSingleSegment ? IsValid(payload.FirstSpan) : IsValid(new Utf8JsonReader(payload, Options));

    private static bool IsValid(Utf8JsonReader reader)
    {
        try
        {
            if (!reader.Read())
            {
                return false;
            }

            reader.Skip();
            while (reader.Read())
            {
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
