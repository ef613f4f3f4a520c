namespace PubSubGateway.Connections;

internal sealed partial class ClientConnection
{
    private static partial class Log
    {
        [LoggerMessage(30, LogLevel.Error, "Connection failed unexpectedly", EventName = "ConnectionFailed")]
        public static partial void ConnectionFailed(ILogger logger, Exception exception);

        [LoggerMessage(31, LogLevel.Information, "Slow consumer closed with 4008 ({QueuedBytes} bytes queued)", EventName = "SlowConsumer")]
        public static partial void SlowConsumer(ILogger logger, long queuedBytes);

        [LoggerMessage(32, LogLevel.Information, "Closing connection with {CloseCode}: {Reason}", EventName = "ConnectionRejected")]
        public static partial void Rejected(ILogger logger, int closeCode, string reason);

        [LoggerMessage(33, LogLevel.Warning, "Subscribing to {Topic} failed", EventName = "SubscribeFailed")]
        public static partial void SubscribeFailed(ILogger logger, string topic, Exception exception);

        [LoggerMessage(34, LogLevel.Warning, "Publishing to {Topic} failed", EventName = "PublishFailed")]
        public static partial void PublishFailed(ILogger logger, string topic, Exception exception);

        [LoggerMessage(35, LogLevel.Debug, "Direct write failed ({ExceptionType}); aborting the connection", EventName = "DirectWriteFailed")]
        public static partial void DirectWriteFailed(ILogger logger, string exceptionType);
    }
}
