using System.Text.Json;

namespace PubSubGateway.Protocol;

internal enum ClientOp
{
    Unknown,
    Sub,
    Unsub,
    Pub,
    Ping,
    Auth,
}

/// <summary>
/// One parsed client frame. <see cref="DataStart"/>/<see cref="DataLength"/> locate the raw bytes of
/// the <c>data</c> value inside the frame buffer so a publish forwards them without re-serializing.
/// </summary>
internal readonly record struct ClientFrame(
    ClientOp Op,
    string? OpName,
    string? Id,
    string? Topic,
    int DataStart,
    int DataLength,
    long? Since,
    string? Token = null,
    string? MsgId = null)
{
    public bool HasData => DataLength > 0;
}

/// <summary>Result of <see cref="ClientFrameParser.Parse"/>: a frame, or the error to send back.</summary>
internal readonly record struct ParseResult(ClientFrame Frame, string? ErrorCode, string? ErrorMessage)
{
    public bool Ok => ErrorCode is null;
}

/// <summary>
/// Parses protocol v1 client frames with <see cref="Utf8JsonReader"/> straight from the receive
/// buffer. Fields may come in any order; unknown fields are ignored (forward compatibility);
/// a repeated field keeps its last value.
/// </summary>
internal static class ClientFrameParser
{
    public const int MaxIdLength = 128;

    public const int DefaultMaxDepth = 32;

    public static ParseResult Parse(ReadOnlySpan<byte> frame, int maxDepth = DefaultMaxDepth)
    {
        try
        {
            return ParseCore(frame, maxDepth);
        }
        catch (JsonException)
        {
            return Fail(null, ErrorCodes.BadRequest, $"frame is not valid JSON (or nested deeper than {maxDepth})");
        }
        catch (InvalidOperationException)
        {
            // GetString/ValueTextEquals throw this for an escaped unpaired surrogate ("\udc00") or
            // invalid UTF-8 inside a string: valid JSON syntax, but no valid text (found by fuzzing).
            return Fail(null, ErrorCodes.BadRequest, "frame has a string with invalid UTF-8 or an unpaired surrogate escape");
        }
    }

    private static ParseResult ParseCore(ReadOnlySpan<byte> frame, int maxDepth)
    {
        var reader = new Utf8JsonReader(frame, new JsonReaderOptions { MaxDepth = maxDepth });
        if (!reader.Read())
        {
            return Fail(null, ErrorCodes.BadRequest, "frame is empty");
        }

        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            DrainToEnd(ref reader);
            return Fail(null, ErrorCodes.BadRequest, "frame must be a JSON object");
        }

        string? op = null, id = null, topic = null, token = null, msgId = null, error = null;
        long? since = null;
        int dataStart = 0, dataLength = 0;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("op"u8))
            {
                reader.Read();
                op = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                error ??= op is null ? "'op' must be a string" : null;
                SkipValue(ref reader);
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length <= MaxIdLength * 6)
                {
                    id = reader.GetString();
                    error ??= id!.Length > MaxIdLength ? $"'id' is longer than {MaxIdLength} characters" : null;
                    if (id!.Length > MaxIdLength)
                    {
                        id = null;
                    }
                }
                else
                {
                    error ??= reader.TokenType == JsonTokenType.String ? $"'id' is longer than {MaxIdLength} characters" : "'id' must be a string";
                    SkipValue(ref reader);
                }
            }
            else if (reader.ValueTextEquals("topic"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length <= 1024)
                {
                    topic = reader.GetString();
                }
                else
                {
                    error ??= reader.TokenType == JsonTokenType.String ? "'topic' is too long" : "'topic' must be a string";
                    SkipValue(ref reader);
                }
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                dataStart = (int)reader.TokenStartIndex;
                reader.Skip();
                dataLength = (int)reader.BytesConsumed - dataStart;
            }
            else if (reader.ValueTextEquals("token"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length <= 16 * 1024)
                {
                    token = reader.GetString();
                }
                else
                {
                    error ??= reader.TokenType == JsonTokenType.String ? "'token' is too long" : "'token' must be a string";
                    SkipValue(ref reader);
                }
            }
            else if (reader.ValueTextEquals("msg_id"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String && reader.ValueSpan.Length <= MaxIdLength)
                {
                    msgId = reader.GetString();
                }
                else
                {
                    error ??= $"'msg_id' must be a string of at most {MaxIdLength} characters";
                    SkipValue(ref reader);
                }
            }
            else if (reader.ValueTextEquals("since"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var s) && s >= 0)
                {
                    since = s;
                }
                else
                {
                    error ??= "'since' must be a non-negative integer";
                    SkipValue(ref reader);
                }
            }
            else
            {
                reader.Read();
                SkipValue(ref reader);
            }
        }

        DrainToEnd(ref reader);
        if (error is not null)
        {
            return Fail(id, ErrorCodes.BadRequest, error);
        }

        if (op is null)
        {
            return Fail(id, ErrorCodes.BadRequest, "missing 'op'");
        }

        var kind = op switch
        {
            "sub" => ClientOp.Sub,
            "unsub" => ClientOp.Unsub,
            "pub" => ClientOp.Pub,
            "ping" => ClientOp.Ping,
            "auth" => ClientOp.Auth,
            _ => ClientOp.Unknown,
        };

        if (kind is ClientOp.Sub or ClientOp.Unsub or ClientOp.Pub && topic is null)
        {
            return Fail(id, ErrorCodes.BadRequest, $"'{op}' needs a 'topic'");
        }

        if (kind == ClientOp.Pub && dataLength == 0)
        {
            return Fail(id, ErrorCodes.BadRequest, "'pub' needs 'data'");
        }

        if (kind == ClientOp.Auth && token is null)
        {
            return Fail(id, ErrorCodes.BadRequest, "'auth' needs a 'token'");
        }

        return new ParseResult(new ClientFrame(kind, op, id, topic, dataStart, dataLength, since, token, msgId), null, null);
    }

    private static void SkipValue(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            reader.Skip();
        }
    }

    /// <summary>Reads to the end so trailing garbage after the object is reported as invalid JSON.</summary>
    private static void DrainToEnd(ref Utf8JsonReader reader)
    {
        while (reader.Read())
        {
        }
    }

    private static ParseResult Fail(string? id, string code, string message) =>
        new(new ClientFrame(ClientOp.Unknown, null, id, null, 0, 0, null), code, message);
}
