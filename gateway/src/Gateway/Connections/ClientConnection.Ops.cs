using System.Diagnostics;
using PubSubGateway.Observability;
using PubSubGateway.Protocol;
using PubSubGateway.Subscriptions;
using PubSubGateway.Topics;

namespace PubSubGateway.Connections;

internal sealed partial class ClientConnection
{
    private static readonly TimeSpan SubscribeTimeout = TimeSpan.FromSeconds(10);
    private int _errorsInWindow;
    private long _errorWindowStart;
    private int _rateStrikes;
    private long _strikeWindowStart;
    private double _publishTokens;
    private long _lastRefillTicks;

    private async Task HandleFrameAsync(ReadOnlyMemory<byte> bytes)
    {
        var parsed = ClientFrameParser.Parse(bytes.Span, _options.Limits.MaxJsonDepth);
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
            case ClientOp.Auth:
                await AuthenticateAsync(frame);
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

        if (!_identity.Permissions.CanSubscribe(topic))
        {
            ReplyError(frame.Id, ErrorCodes.Forbidden, $"not allowed to subscribe to '{topic}'");
            return;
        }

        var durable = _services.Topics.IsDurable(topic);
        if (frame.Since is not null && !durable)
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

        var since = frame.Since is { } s ? (ulong)s : (ulong?)null;
        Subscriber subscriber;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_aborted.Token);
            timeout.CancelAfter(SubscribeTimeout);
            if (since is { } from)
            {
                var history = await _services.Topics.Log!.CheckHistoryAsync(_services.Topics.SubjectFor(topic), from, timeout.Token);
                if (history.Gone)
                {
                    ReplyError(frame.Id, ErrorCodes.HistoryGone,
                        $"messages after {from} are no longer retained; the first available is {history.FirstAvailable}", history.FirstAvailable);
                    return;
                }
            }

            subscriber = await _services.Topics.AddAsync(topic, this, since, timeout.Token);
        }
        catch (Exception ex) when (!_aborted.IsCancellationRequested)
        {
            Log.SubscribeFailed(_services.Logger, topic, ex);
            ReplyError(frame.Id, ErrorCodes.Internal, "the message broker is not available; retry later");
            return;
        }

        lock (_subscriptions)
        {
            _subscriptions[topic] = subscriber;
            _subscriptionCount = _subscriptions.Count;
        }

        Send(ServerFrames.Ack(frame.Id));
        if (since is { } after)
        {
            await ReplayAsync(topic, subscriber, after);
        }
    }

    /// <summary>
    /// Sends the retained messages after <paramref name="since"/>, then lets the held-back live ones
    /// through. Replay waits while the client's queue is more than half full, so a long history
    /// streams at the client's pace instead of overflowing its queue.
    /// </summary>
    private async Task ReplayAsync(string topic, Subscriber subscriber, ulong since)
    {
        var prefixLength = _services.Topics.SubjectPrefix.Length;
        var pause = _options.Outbound.MaxQueueBytes / 2;
        try
        {
            await _services.Topics.Log!.ReplayAsync(_services.Topics.SubjectFor(topic), since, async (subject, payload, seq) =>
            {
                while (Queue.Bytes > pause && !IsClosing)
                {
                    await Task.Delay(5, _aborted.Token);
                }

                subscriber.DeliverReplayed(ServerFrames.MessageWithSeq(subject.AsSpan(prefixLength), seq, payload, 1), seq);
            }, _aborted.Token);
            subscriber.FinishReplay();
        }
        catch (Exception ex) when (!_aborted.IsCancellationRequested)
        {
            // The client was told the subscription is live; a gap must not pass silently.
            Log.SubscribeFailed(_services.Logger, topic, ex);
            Reject(CloseCodes.InternalError, "resume failed; reconnect and resume again");
        }
    }

    private async Task UnsubscribeAsync(ClientFrame frame)
    {
        var topic = frame.Topic!;
        if (!ValidTopic(frame.Id, topic, allowWildcards: true))
        {
            return;
        }

        Subscriber? removed;
        lock (_subscriptions)
        {
            _subscriptions.Remove(topic, out removed);
            _subscriptionCount = _subscriptions.Count;
        }

        if (removed is not null)
        {
            await _services.Topics.RemoveAsync(removed);
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

        if (!_identity.Permissions.CanPublish(topic))
        {
            ReplyError(frame.Id, ErrorCodes.Forbidden, $"not allowed to publish to '{topic}'");
            return;
        }

        if (!TakePublishToken())
        {
            RateLimited(frame.Id);
            return;
        }

        var max = _options.Limits.MaxPayloadBytes;
        if (data.Length > max)
        {
            _metrics.Dropped(DropReason.TooLarge);
            ReplyError(frame.Id, ErrorCodes.TooLarge, $"'data' is larger than {max} bytes");
            return;
        }

        ulong? seq = null;
        var duplicate = false;
        try
        {
            var subject = _services.Topics.SubjectFor(topic);
            if (_services.Topics.IsDurable(topic))
            {
                (var assigned, duplicate) = await _services.Topics.Log!.PublishAsync(subject, data, frame.MsgId, _aborted.Token);
                seq = assigned;
            }
            else
            {
                await _services.Bus.PublishAsync(subject, data, _aborted.Token);
            }
        }
        catch (Exception ex) when (!_aborted.IsCancellationRequested)
        {
            Log.PublishFailed(_services.Logger, topic, ex);
            ReplyError(frame.Id, ErrorCodes.Internal, "the message broker is not available; retry later");
            return;
        }

        _metrics.Received(MessageSource.WebSocket);
        Send(ServerFrames.Ack(frame.Id, seq, duplicate));
    }

    /// <summary>
    /// <c>{"op":"auth","token":…}</c>: replaces the connection's token before it expires. The new
    /// token must be valid and name the same subject; its permissions apply to later requests.
    /// </summary>
    private async Task AuthenticateAsync(ClientFrame frame)
    {
        var result = await _services.Auth.ValidateAsync(frame.Token!);
        if (!result.Ok)
        {
            ReplyError(frame.Id, ErrorCodes.Unauthorized, result.Error!);
            return;
        }

        if (result.Identity!.Subject != _identity.Subject)
        {
            ReplyError(frame.Id, ErrorCodes.Forbidden, "a refreshed token must name the same subject as the connection's token");
            return;
        }

        _identity = result.Identity;
        Send(ServerFrames.Ack(frame.Id));
    }

    /// <summary>Token bucket: <c>PublishBurst</c> tokens, refilled at <c>PublishRatePerSecond</c>.</summary>
    private bool TakePublishToken()
    {
        var limits = _options.Limits;
        var now = Stopwatch.GetTimestamp();
        _publishTokens = Math.Min(limits.PublishBurst, _publishTokens + (Stopwatch.GetElapsedTime(_lastRefillTicks, now).TotalSeconds * limits.PublishRatePerSecond));
        _lastRefillTicks = now;
        if (_publishTokens < 1)
        {
            return false;
        }

        _publishTokens--;
        return true;
    }

    /// <summary>Answers <c>rate_limited</c>; a client that keeps flooding is closed with 4029.</summary>
    private void RateLimited(string? id)
    {
        _metrics.ProtocolErrors.WithLabels(ErrorCodes.RateLimited).Inc();
        Send(ServerFrames.Error(id, ErrorCodes.RateLimited, $"more than {_options.Limits.PublishRatePerSecond} publishes per second"));
        var now = Stopwatch.GetTimestamp();
        if (Stopwatch.GetElapsedTime(_strikeWindowStart, now).TotalSeconds > _options.Limits.ErrorWindowSeconds)
        {
            _strikeWindowStart = now;
            _rateStrikes = 0;
        }

        if (++_rateStrikes > _options.Limits.MaxRateLimitStrikes)
        {
            Reject(CloseCodes.RateLimited, "publish rate limit exceeded repeatedly");
        }
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
    private void ReplyError(string? id, string code, string message, ulong? firstSeq = null)
    {
        _metrics.ProtocolErrors.WithLabels(code).Inc();
        Send(ServerFrames.Error(id, code, message, firstSeq));

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
