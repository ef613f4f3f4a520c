using System.Diagnostics;
using PubSubGateway.LoadTest.Clients;
using PubSubGateway.LoadTest.Measurement;
using PubSubGateway.LoadTest.Publishing;
using PubSubGateway.LoadTest.Reporting;

namespace PubSubGateway.LoadTest.Scenarios;

/// <summary>The drain scenario's progress lines and its result.</summary>
internal sealed partial class DrainScenario
{
    private DrainResult Summarise(
        DateTimeOffset started,
        double loadBefore,
        double cpuBefore,
        double connectSeconds,
        ResumingSubscriber[] clients,
        List<ResumingSubscriber> onTarget,
        string target,
        int? windowMs,
        List<NodeCount> nodesBefore,
        List<NodeCount> nodesAfter,
        DrainWatch watch,
        long drainStart,
        long published,
        double publishSeconds,
        bool allDelivered)
    {
        var topics = options.Topics;
        var expected = clients.Select((_, i) => PublishedOn(i % topics, published, topics)).ToArray();
        var missing = clients.Select((c, i) => c.Missing(expected[i])).ToArray();
        var perSecond = _timeline.ResubscribedPerSecond(drainStart);
        var framesPerSecond = _timeline.ReconnectFramesPerSecond(drainStart);
        return new DrainResult
        {
            StartedUtc = started,
            Label = options.Label,
            Urls = [.. options.Urls.Select(u => u.ToString())],
            Subscribers = options.Subscribers,
            Connected = clients.Length,
            Topics = topics,
            Durable = clients.All(c => c.Durable),
            TargetRate = options.Rate,
            PayloadBytes = options.PayloadBytes,
            ConnectSeconds = connectSeconds,
            DrainedNode = target,
            DrainWindowMs = windowMs,
            NodesBefore = nodesBefore,
            NodesAfter = nodesAfter,
            ClientsOnDrainedNode = onTarget.Count,
            SecondsToDrained = watch.SecondsToDrained,
            SecondsToZeroConnections = watch.SecondsToZeroConnections,
            SecondsToLastClientMoved = watch.SecondsToLastClientMoved,
            ClientsMoved = onTarget.Count(c => c.Node is not null && c.Node != target),
            ReconnectFrames = clients.Sum(c => (long)c.ReconnectFrames),
            Reconnects = clients.Sum(c => (long)c.Resubscribes),
            MaxReconnectsPerSecond = perSecond.DefaultIfEmpty().Max(),
            ReconnectsPerSecond = perSecond,
            MaxReconnectFramesPerSecond = framesPerSecond.DefaultIfEmpty().Max(),
            Drops = clients.Sum(c => (long)c.Drops),
            Bounces = clients.Sum(c => (long)c.Bounces),
            FailedAttempts = clients.Sum(c => (long)c.FailedAttempts),
            FirstError = clients.Select(c => c.LastError).FirstOrDefault(e => e is not null),
            HistoryGone = clients.Sum(c => (long)c.HistoryGone),
            CursorMismatches = clients.Sum(c => (long)c.CursorMismatches),
            ReconnectGap = PubSubScenario.Summarise(_timeline.Gap()),
            ReconnectConnectToAck = PubSubScenario.Summarise(_timeline.ConnectToAck()),
            ReconnectSubToAck = PubSubScenario.Summarise(_timeline.SubToAck()),
            Published = published,
            PublishSeconds = publishSeconds,
            ExpectedDeliveries = expected.Sum(),
            Delivered = clients.Sum(c => c.Distinct),
            Lost = missing.Sum(),
            Duplicates = clients.Sum(c => c.Duplicates),
            OutOfOrder = clients.Sum(c => c.OutOfOrder),
            StreamSeqRegressions = clients.Sum(c => c.StreamSeqRegressions),
            WrongTopicFrames = clients.Sum(c => c.WrongTopic),
            ClientsWithLoss = missing.Count(m => m > 0),
            AllDelivered = allDelivered,
            ClientsLeftBehind = clients.Count(c => c.Node is null),
            LatencyBefore = PubSubScenario.Summarise(_timeline.Latency(DrainPhase.Before).Total()),
            LatencyDuring = PubSubScenario.Summarise(_timeline.Latency(DrainPhase.During).Total()),
            LatencyAfter = PubSubScenario.Summarise(_timeline.Latency(DrainPhase.After).Total()),
            ClientCpuSeconds = Environment.CpuUsage.TotalTime.TotalSeconds - cpuBefore,
            LoadAverageBefore = loadBefore,
            LoadAverageAfter = ProcessSample.LoadAverage(),
        };
    }

    private async Task ProgressAsync(ResumingSubscriber[] clients, PacedPublisher paced, long start, CancellationToken cancellationToken)
    {
        if (options.Quiet)
        {
            return;
        }

        long lastSent = 0, lastDelivered = 0;
        var lastResubscribed = _timeline.ResubscribedSoFar;
        var last = start;
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var now = Stopwatch.GetTimestamp();
                var seconds = Stopwatch.GetElapsedTime(last, now).TotalSeconds;
                var sent = paced.Sent;
                var delivered = clients.Sum(c => c.Received);
                var resubscribed = _timeline.ResubscribedSoFar;
                var interval = _timeline.Current.TakeInterval();
                var moving = clients.Count(c => c.Moving);
                var targetConnections = Volatile.Read(ref _targetConnections);
                var target = _target is { } t ? $"  {t} conns {(double.IsNaN(targetConnections) ? "?" : targetConnections.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)),6}" : "";
                Write(FormattableString.Invariant(
                    $"[{Stopwatch.GetElapsedTime(start, now).TotalSeconds,6:0.0}s] {_timeline.Phase.ToString().ToLowerInvariant(),-6} subscribed {clients.Length - moving:N0}/{clients.Length:N0}  moving {moving,5:N0}  reconnects {(resubscribed - lastResubscribed) / seconds,6:N0}/s (total {resubscribed:N0}){target}  pub {(sent - lastSent) / seconds,6:N0}/s  deliveries {(delivered - lastDelivered) / seconds,9:N0}/s  p50 {PubSubScenario.Ms(interval, 50),7:0.00} ms  p99 {PubSubScenario.Ms(interval, 99),8:0.00} ms"));
                (lastSent, lastDelivered, lastResubscribed, last) = (sent, delivered, resubscribed, now);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ConnectProgressAsync(Func<int> connected, CancellationToken cancellationToken)
    {
        if (options.Quiet)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        var watch = Stopwatch.StartNew();
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Write(FormattableString.Invariant($"[{watch.Elapsed.TotalSeconds,6:0.0}s] connecting: {connected():N0}/{options.Subscribers:N0} subscribed"));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
