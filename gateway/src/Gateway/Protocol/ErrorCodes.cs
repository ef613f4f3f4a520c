namespace PubSubGateway.Protocol;

/// <summary>The <c>code</c> values of an <c>err</c> frame (protocol v1).</summary>
internal static class ErrorCodes
{
    public const string BadRequest = "bad_request";
    public const string BadTopic = "bad_topic";
    public const string Forbidden = "forbidden";
    public const string Unauthorized = "unauthorized";
    public const string TooLarge = "too_large";
    public const string RateLimited = "rate_limited";
    public const string LimitExceeded = "limit_exceeded";
    public const string UnknownOp = "unknown_op";
    public const string HistoryGone = "history_gone";
    public const string Internal = "internal";
}

/// <summary>WebSocket close codes used by the gateway (protocol v1).</summary>
internal static class CloseCodes
{
    public const int Normal = 1000;
    public const int GoingAway = 1001;
    public const int InvalidPayload = 1007;
    public const int PolicyViolation = 1008;
    public const int MessageTooBig = 1009;
    public const int InternalError = 1011;
    public const int ServiceRestart = 1012;
    public const int TryAgainLater = 1013;
    public const int TokenExpired = 4001;
    public const int SlowConsumer = 4008;
    public const int RateLimited = 4029;
}
