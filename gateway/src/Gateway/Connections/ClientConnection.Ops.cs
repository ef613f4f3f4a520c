using System.Diagnostics;
using PubSubGateway.Observability;
using PubSubGateway.Protocol;
using PubSubGateway.Topics;

namespace PubSubGateway.Connections;

internal sealed partial class ClientConnection
{
    private static readonly TimeSpan SubscribeTimeout = TimeSpan.FromSeconds(10);
    private int _errorsInWindow;
    private long _errorWindowStart;

    private async Task HandleFrameAsync(ReadOnlyMemory<byte> bytes)
    {
        var parsed = ClientFrameParser.Parse(bytes.Span);
        if (!parsed.Ok)
        {
            ReplyError(parsed.Frame.Id, parsed.ErrorCode!, parsed.ErrorMessage!);
            return;
        }

        var frame = parsed.Frame;
        switch (frame.Op)
        {
            case ClientOp.Ping:
                Send(ServerFrames.Pong(frame.Id));
                break;
            case ClientOp.Sub:
                await SubscribeAsync(frame);
                break;
            case ClientOp.Unsub:
                await UnsubscribeAsync(frame);
                break;
            case ClientOp.Pub:
                await PublishAsync(frame, bytes.Slice(frame.DataStart, frame.DataLength));
                break;
            default:
                ReplyError(frame.Id, ErrorCodes.UnknownOp, $"unknown op '{Truncate(frame.OpName)}'");
                break;
        }
    }

    private async Task SubscribeAsync(ClientFrame frame)
    {
        var topic = frame.Topic!;
        if (!ValidTopic(frame.Id, topic, allowWildcards: true))
        {
            return;
        }

        if (frame.Since is not null)
        {
            ReplyError(frame.Id, ErrorCodes.BadRequest, $"topic '{topic}' is not durable: 'since' is only valid on durable topics");
            return;
        }

        if (_subscriptions.ContainsKey(topic))
        {
            Send(ServerFrames.Ack(frame.Id));
            return;
        }

        var limit = _options.Limits.MaxSubscriptionsPerConnection;
        if (_subscriptions.Count >= limit)
        {
            ReplyError(frame.Id, ErrorCodes.LimitExceeded, $"at most {limit} subscriptions per connection");
            return;
        }

        _subscriptions[topic] = true;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_aborted.Token);
            timeout.CancelAfter(SubscribeTimeout);
            await _services.Topics.AddAsync(topic, this, timeout.Token);
        }
        catch (Exception ex) when (!_aborted.IsCancellationRequested)
        {
            _subscriptions.Remove(topic);
            Log.SubscribeFailed(_services.Logger, topic, ex);
            ReplyError(frame.Id, ErrorCodes.Internal, "the message broker is not available; retry later");
            return;
        }

        Send(ServerFrames.Ack(frame.Id));
    }

    private async Task UnsubscribeAsync(ClientFrame frame)
    {
        var topic = frame.Topic!;
        if (!ValidTopic(frame.Id, topic, allowWildcards: true))
        {
            return;
        }

        if (_subscriptions.Remove(topic))
        {
            await _services.Topics.RemoveAsync(topic, this);
        }

        Send(ServerFrames.Ack(frame.Id));
    }

    private async Task PublishAsync(ClientFrame frame, ReadOnlyMemory<byte> data)
    {
        var topic = frame.Topic!;
        if (!ValidTopic(frame.Id, topic, allowWildcards: false))
        {
            return;
        }

        var max = _options.Limits.MaxPayloadBytes;
        if (data.Length > max)
        {
            _metrics.Dropped(DropReason.TooLarge);
            ReplyError(frame.Id, ErrorCodes.TooLarge, $"'data' is larger than {max} bytes");
            return;
        }

        try
        {
            await _services.Bus.PublishAsync(_services.Topics.SubjectFor(topic), data, _aborted.Token);
        }
        catch (Exception ex) when (!_aborted.IsCancellationRequested)
        {
            Log.PublishFailed(_services.Logger, topic, ex);
            ReplyError(frame.Id, ErrorCodes.Internal, "the message broker is not available; retry later");
            return;
        }

        _metrics.Received(MessageSource.WebSocket);
        Send(ServerFrames.Ack(frame.Id));
    }

    private bool ValidTopic(string? id, string topic, bool allowWildcards)
    {
        var limits = _options.Limits;
        var error = TopicRules.Validate(topic, allowWildcards, limits.MaxTopicBytes, limits.MaxTopicTokens);
        if (error == TopicError.None)
        {
            return true;
        }

        ReplyError(id, ErrorCodes.BadTopic, $"{TopicRules.Describe(error)}: '{Truncate(topic)}'");
        return false;
    }

    /// <summary>Sends an <c>err</c>; a client that keeps erring closes with 1008.</summary>
    private void ReplyError(string? id, string code, string message)
    {
        _metrics.ProtocolErrors.WithLabels(code).Inc();
        Send(ServerFrames.Error(id, code, message));

        var now = Stopwatch.GetTimestamp();
        if (Stopwatch.GetElapsedTime(_errorWindowStart, now).TotalSeconds > _options.Limits.ErrorWindowSeconds)
        {
            _errorWindowStart = now;
            _errorsInWindow = 0;
        }

        if (++_errorsInWindow > _options.Limits.MaxErrorsPerWindow)
        {
            Reject(CloseCodes.PolicyViolation, "too many protocol errors");
        }
    }

    private static string Truncate(string? value) =>
        value is null ? string.Empty : value.Length <= 64 ? value : string.Concat(value.AsSpan(0, 64), "…");
}
