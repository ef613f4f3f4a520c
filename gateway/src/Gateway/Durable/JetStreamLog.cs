using System.Buffers;
using Microsoft.Extensions.Options;
using NATS.Client.Core;
using NATS.Client.JetStream;
using NATS.Client.JetStream.Models;
using PubSubGateway.Configuration;
using PubSubGateway.Messaging;
using PubSubGateway.Topics;

namespace PubSubGateway.Durable;

/// <summary>Receives live messages of a durable subscription, in stream order.</summary>
internal interface IDurableMessageHandler
{
    void OnMessage(string subject, in ReadOnlySequence<byte> payload, ulong seq);
}

/// <summary>Where a resume from <c>since</c> can start.</summary>
internal readonly record struct HistoryCheck(bool Gone, ulong FirstAvailable, ulong LastSeq);

/// <summary>
/// The JetStream stream behind durable topics: creates or updates it at start-up, publishes with
/// acknowledgement (returning the stream sequence, honouring <c>Nats-Msg-Id</c>), feeds live
/// messages with their sequence, and replays history for a resuming subscriber.
/// </summary>
internal sealed partial class JetStreamLog
{
    private readonly NatsJSContext _js;
    private readonly DurableOptions _options;
    private readonly string _subjectPrefix;
    private readonly ILogger<JetStreamLog> _logger;

    public JetStreamLog(IMessageBus bus, IOptions<DurableOptions> options, IOptions<GatewayOptions> gateway, ILogger<JetStreamLog> logger)
    {
        _js = new NatsJSContext((bus as NatsBus ?? throw new InvalidOperationException("durable topics need Nats:Url (JetStream)")).Connection);
        _options = options.Value;
        _subjectPrefix = gateway.Value.SubjectPrefix + ".";
        _logger = logger;
    }

    /// <summary>True once the stream exists with the configured limits.</summary>
    public bool IsReady { get; private set; }

    /// <summary>Creates or updates the stream, then reads its config back: nats-server 2.9 ignores some settings silently.</summary>
    public async Task EnsureStreamAsync(CancellationToken cancellationToken)
    {
        var config = new StreamConfig(_options.StreamName, [.. _options.Patterns.Select(p => _subjectPrefix + p)])
        {
            Storage = StreamConfigStorage.File,
            Retention = StreamConfigRetention.Limits,
            MaxAge = TimeSpan.FromSeconds(_options.MaxAgeSeconds),
            MaxMsgsPerSubject = _options.MaxMessagesPerTopic,
            NumReplicas = _options.Replicas,
            DuplicateWindow = TimeSpan.FromSeconds(Math.Min(_options.DuplicateWindowSeconds, _options.MaxAgeSeconds)),
            Discard = StreamConfigDiscard.Old,
        };

        var stream = await _js.CreateOrUpdateStreamAsync(config, cancellationToken);
        var applied = stream.Info.Config;
        if (applied.NumReplicas != _options.Replicas || applied.MaxMsgsPerSubject != _options.MaxMessagesPerTopic || applied.MaxAge != config.MaxAge)
        {
            throw new InvalidOperationException(
                $"JetStream stream {_options.StreamName} did not take the configured limits (replicas {applied.NumReplicas}, max per topic {applied.MaxMsgsPerSubject}, max age {applied.MaxAge}).");
        }

        IsReady = true;
        Log.StreamReady(_logger, _options.StreamName, string.Join(", ", config.Subjects!), _options.Replicas);
    }

    /// <summary>Publishes with acknowledgement; a repeated <paramref name="msgId"/> inside the window is not stored twice.</summary>
    public async Task<(ulong Seq, bool Duplicate)> PublishAsync(string subject, ReadOnlyMemory<byte> payload, string? msgId, CancellationToken cancellationToken)
    {
        var ack = await _js.PublishAsync(subject, payload, opts: new NatsJSPubOpts { MsgId = msgId, RetryAttempts = 3 }, cancellationToken: cancellationToken);
        // Not EnsureSuccess(): it throws on a duplicate, which is a successful retry for us.
        if (ack.Error is { } error)
        {
            throw new NatsJSApiException(error);
        }

        return (ack.Seq, ack.Duplicate);
    }

    /// <summary>The stream's last sequence now: a live feed starting after it misses nothing published later.</summary>
    public async Task<ulong> LastSequenceAsync(CancellationToken cancellationToken)
    {
        var stream = await _js.GetStreamAsync(_options.StreamName, cancellationToken: cancellationToken);
        return stream.Info.State.LastSeq;
    }

    /// <summary>
    /// Whether history after <paramref name="since"/> is complete. Retention removes the oldest
    /// messages (by age or per topic count); when anything after <paramref name="since"/> may have
    /// been removed the answer is "gone", erring on the side of telling the client.
    /// </summary>
    public async Task<HistoryCheck> CheckHistoryAsync(string subject, ulong since, CancellationToken cancellationToken)
    {
        var stream = await _js.GetStreamAsync(_options.StreamName, new StreamInfoRequest { SubjectsFilter = subject }, cancellationToken);
        var state = stream.Info.State;
        if (since >= state.LastSeq)
        {
            return new HistoryCheck(false, state.LastSeq + 1, state.LastSeq);
        }

        ulong firstForSubject = state.FirstSeq;
        long count = 0;
        if (state.Subjects is { } subjects && subjects.TryGetValue(subject, out var n))
        {
            count = n;
            firstForSubject = await FirstSequenceOfAsync(stream, subject, state.FirstSeq, cancellationToken) ?? state.FirstSeq;
        }

        var removedByAge = state.FirstSeq > 1 && since + 1 < state.FirstSeq;
        var removedByCount = count >= _options.MaxMessagesPerTopic && since + 1 < firstForSubject;
        return new HistoryCheck(removedByAge || removedByCount, Math.Max(firstForSubject, state.FirstSeq), state.LastSeq);
    }

    /// <summary>Feeds every message of <paramref name="subject"/> with sequence ≥ <paramref name="startSeq"/>, until disposed.</summary>
    public Task<IAsyncDisposable> SubscribeLiveAsync(string subject, ulong startSeq, IDurableMessageHandler handler, CancellationToken cancellationToken)
    {
        var stop = new CancellationTokenSource();
        var pump = Task.Run(() => PumpAsync(subject, startSeq, handler, stop.Token), CancellationToken.None);
        return Task.FromResult<IAsyncDisposable>(new LiveFeed(stop, pump));
    }

    /// <summary>Delivers, in order, every retained message of <paramref name="subject"/> after <paramref name="since"/> up to the end of the stream as seen while reading.</summary>
    public async Task<ulong> ReplayAsync(string subject, ulong since, Func<string, ReadOnlySequence<byte>, ulong, ValueTask> deliver, CancellationToken cancellationToken)
    {
        var consumer = await _js.CreateOrderedConsumerAsync(_options.StreamName, new NatsJSOrderedConsumerOpts
        {
            FilterSubjects = [subject],
            DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
            OptStartSeq = since + 1,
        }, cancellationToken);

        var last = since;
        while (true)
        {
            var fetched = 0;
            var caughtUp = false;
            await foreach (var msg in consumer.FetchNoWaitAsync<NatsMemoryOwner<byte>>(new NatsJSFetchOpts { MaxMsgs = _options.ReplayBatch }, cancellationToken: cancellationToken))
            {
                using var data = msg.Data;
                var metadata = msg.Metadata!.Value;
                fetched++;
                last = metadata.Sequence.Stream;
                if (IsOf(subject, msg.Subject))
                {
                    await deliver(msg.Subject, new ReadOnlySequence<byte>(data.Memory), last);
                }

                caughtUp = metadata.NumPending == 0;
            }

            if (fetched == 0 || caughtUp)
            {
                return last;
            }
        }
    }

    /// <summary>
    /// Reads the stream from <paramref name="next"/> on, for as long as the topic has subscribers.
    /// If the consumer fails (a NATS server died, a request timed out) it is created again from the
    /// sequence after the last one handed over, so a failure costs time, never a message.
    /// </summary>
    /// <summary>
    /// Short pull expiry and idle heartbeats: when the server holding the consumer dies, a missed
    /// heartbeat (about 2 s) makes the ordered consumer start again elsewhere. With the defaults
    /// (30 s expiry, 15 s heartbeat) a live feed stalled for half a minute after a server loss.
    /// </summary>
    private static readonly NatsJSConsumeOpts LiveConsumeOpts = new()
    {
        MaxMsgs = 1_000,
        Expires = TimeSpan.FromSeconds(5),
        IdleHeartbeat = TimeSpan.FromSeconds(1),
    };

    private async Task PumpAsync(string subject, ulong next, IDurableMessageHandler handler, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var lastActivity = Environment.TickCount64;
            var watchdog = WatchAsync(subject, () => next, () => Volatile.Read(ref lastActivity), attempt, cancellationToken);
            try
            {
                var consumer = await _js.CreateOrderedConsumerAsync(_options.StreamName, new NatsJSOrderedConsumerOpts
                {
                    FilterSubjects = [subject],
                    DeliverPolicy = ConsumerConfigDeliverPolicy.ByStartSequence,
                    OptStartSeq = next,
                }, attempt.Token);
                await foreach (var msg in consumer.ConsumeAsync<NatsMemoryOwner<byte>>(opts: LiveConsumeOpts, cancellationToken: attempt.Token))
                {
                    Volatile.Write(ref lastActivity, Environment.TickCount64);
                    using var data = msg.Data;
                    var seq = msg.Metadata!.Value.Sequence.Stream;
                    if (seq < next)
                    {
                        continue;
                    }

                    if (!IsOf(subject, msg.Subject))
                    {
                        next = seq + 1;
                        continue;
                    }

                    try
                    {
                        handler.OnMessage(msg.Subject, new ReadOnlySequence<byte>(data.Memory), seq);
                    }
                    catch (Exception ex)
                    {
                        Log.HandlerFailed(_logger, msg.Subject, ex);
                    }

                    next = seq + 1;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.FeedRestarting(_logger, subject, next, ex is OperationCanceledException ? "stalled" : ex.Message);
                try
                {
                    await Task.Delay(250, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            finally
            {
                await attempt.CancelAsync();
                await watchdog;
            }
        }
    }

    /// <summary>
    /// Restarts a feed that has gone quiet while the stream holds messages it has not handed over:
    /// after a NATS server loss an ordered consumer was seen waiting for good without an error
    /// (about one run in five of the kill test), so silence alone is checked against the stream.
    /// </summary>
    private async Task WatchAsync(string subject, Func<ulong> next, Func<long> lastActivity, CancellationTokenSource attempt, CancellationToken stopping)
    {
        try
        {
            while (!attempt.IsCancellationRequested)
            {
                await Task.Delay(StallCheck, attempt.Token);
                if (Environment.TickCount64 - lastActivity() < StallCheck.TotalMilliseconds)
                {
                    continue;
                }

                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(attempt.Token);
                timeout.CancelAfter(StallCheck);
                ulong last;
                try
                {
                    var stream = await _js.GetStreamAsync(_options.StreamName, cancellationToken: timeout.Token);
                    last = (await stream.GetAsync(new StreamMsgGetRequest { LastBySubj = subject }, timeout.Token)).Message.Seq;
                }
                catch (NatsJSApiException)
                {
                    continue; // nothing stored for this topic: silence is expected
                }

                if (last >= next())
                {
                    await attempt.CancelAsync();
                    return;
                }
            }
        }
        catch (Exception) when (attempt.IsCancellationRequested || stopping.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is NatsException or OperationCanceledException or TimeoutException)
        {
            // The check itself could not reach JetStream: start the feed over, it will retry.
            await attempt.CancelAsync();
        }
    }

    private static readonly TimeSpan StallCheck = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Whether a message the consumer handed over belongs to <paramref name="filter"/>. NATS.Net's
    /// ordered consumer always sends <c>filter_subjects</c> (the list form, even for one subject),
    /// which nats-server 2.9 ignores without an error: the consumer then carries every subject of
    /// the stream. Without this check a subscriber of <c>bench.t0</c> received the messages of
    /// <c>bench.t1</c>…<c>bench.t19</c> too (found by the load tool's drain scenario, 20 durable
    /// topics). The cost on 2.9: each feed reads the whole stream's traffic and drops the rest.
    /// </summary>
    private static bool IsOf(string filter, string subject) => TopicPattern.Matches(filter, subject);

    private static async Task<ulong?> FirstSequenceOfAsync(INatsJSStream stream, string subject, ulong from, CancellationToken cancellationToken)
    {
        try
        {
            var msg = await stream.GetAsync(new StreamMsgGetRequest { Seq = from, NextBySubj = subject }, cancellationToken);
            return msg.Message.Seq;
        }
        catch (NatsJSApiException)
        {
            return null;
        }
    }

    private sealed class LiveFeed(CancellationTokenSource stop, Task pump) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await pump;
            stop.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(50, LogLevel.Information, "JetStream stream {Stream} ready for {Subjects} (replicas {Replicas})", EventName = "DurableStreamReady")]
        public static partial void StreamReady(ILogger logger, string stream, string subjects, int replicas);

        [LoggerMessage(53, LogLevel.Warning, "Durable feed for {Subject} failed ({Reason}); restarting from seq {Next}", EventName = "DurableFeedRestarting")]
        public static partial void FeedRestarting(ILogger logger, string subject, ulong next, string reason);

        [LoggerMessage(51, LogLevel.Error, "Handling a durable message on {Subject} failed", EventName = "DurableHandlerFailed")]
        public static partial void HandlerFailed(ILogger logger, string subject, Exception exception);
    }
}
