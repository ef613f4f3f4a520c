using System.Diagnostics;
using System.Net;
using PubSubGateway.LoadTest.Cli;
using PubSubGateway.LoadTest.Clients;
using PubSubGateway.LoadTest.Control;
using PubSubGateway.LoadTest.Measurement;
using PubSubGateway.LoadTest.Publishing;
using PubSubGateway.LoadTest.Reporting;

namespace PubSubGateway.LoadTest.Scenarios;

/// <summary>
/// <c>drain</c>: N resuming clients connect through the router(s) and subscribe to K durable topics; a
/// backend publishes through NATS. After a warm-up and <c>--before</c> seconds of measured publishing
/// the busiest node (or <c>--drain-node</c>) is drained through the control plane's admin API. The
/// run watches the node until it reports <c>drained</c> and its own <c>gateway_connections</c> is 0,
/// publishes <c>--after</c> seconds more, stops, waits until every client has every message, and
/// reports how fast the node emptied, how the reconnects were spread, and what was lost or duplicated.
/// </summary>
internal sealed partial class DrainScenario(DrainOptions options, TextWriter progress)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);

    // Heartbeats come every 2 s by default: three of them let every node's count catch up.
    private static readonly TimeSpan RegistrySettleTimeout = TimeSpan.FromSeconds(6);

    private readonly DrainTimeline _timeline = new(Environment.ProcessorCount * 8);
    private volatile string? _target;
    private double _targetConnections = double.NaN;
    private long _drainStart;

    public async Task<DrainResult> RunAsync(CancellationToken cancellationToken)
    {
        var started = DateTimeOffset.UtcNow;
        var loadBefore = ProcessSample.LoadAverage();
        var cpuBefore = Environment.CpuUsage.TotalTime.TotalSeconds;
        using var control = new ControlPlaneClient(options.AdminBase, options.AdminToken);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await CheckNodesAsync(control, cancellationToken);

        var topics = options.TopicNames;
        var connectWatch = Stopwatch.StartNew();
        var clients = await ConnectAllAsync(topics, cancellationToken);
        var connectSeconds = connectWatch.Elapsed.TotalSeconds;
        Write($"connected and subscribed {clients.Length:N0} clients through {options.Urls.Count} router(s) in {connectSeconds:0.00} s");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            foreach (var client in clients)
            {
                client.Start(stop.Token);
            }

            await using var publisher = new NatsBenchPublisher(options.Nats.ToString(), options.SubjectPrefix);
            await publisher.StartAsync(cancellationToken);
            var paced = new PacedPublisher(publisher, topics, options.PayloadBytes);
            await WarmUpAsync(paced, clients, cancellationToken);
            if (options.WarmupSeconds > 0 && !clients.All(c => c.Durable))
            {
                Write($"note: {clients.Count(c => !c.Durable):N0} clients received no stream seq: their topics are not durable, so whatever is published while they move is lost");
            }

            var nodesBefore = await SettledNodesAsync(control, clients, drainedNode: null, cancellationToken);
            var target = options.DrainNode ?? nodesBefore.Where(n => n.State == "active").OrderByDescending(n => n.RegistryConnections).ThenBy(n => n.Node, StringComparer.Ordinal).First().Node;
            var targetUrl = (await control.NodeAsync(target, cancellationToken))?.Url;
            Write("before: " + Describe(nodesBefore) + $"; draining {target}");

            _timeline.Enter(DrainPhase.Before);
            var publishStart = Stopwatch.GetTimestamp();
            var publishing = paced.RunAsync(options.Rate, long.MaxValue, cancellationToken);
            using var progressStop = new CancellationTokenSource();
            var progressLoop = ProgressAsync(clients, paced, publishStart, progressStop.Token);

            await DelayWhilePublishingAsync(options.BeforeSeconds, publishing, cancellationToken);
            var onTarget = clients.Where(c => c.Node == target).ToList();
            _target = target;
            var drainStart = Stopwatch.GetTimestamp();
            Volatile.Write(ref _drainStart, drainStart);
            _timeline.Enter(DrainPhase.During);
            int? windowMs = options.DrainWindowSeconds is { } w ? (int)Math.Round(w * 1000) : null;
            var drainTimeouts = await control.DrainAsync(target, windowMs, cancellationToken);
            Write($"drain of {target} accepted ({onTarget.Count:N0} clients on it){(drainTimeouts > 0 ? $" after {drainTimeouts} × 504 node_unreachable" : "")}");

            var watch = await WatchDrainAsync(control, http, target, targetUrl, drainStart, onTarget, cancellationToken);
            _timeline.Enter(DrainPhase.After);
            await DelayWhilePublishingAsync(options.AfterSeconds, publishing, cancellationToken);
            paced.Stop();
            await publishing;
            var publishSeconds = Stopwatch.GetElapsedTime(publishStart).TotalSeconds;
            var published = paced.Sent;
            var allDelivered = await WaitForDeliveriesAsync(clients, published, topics.Count, cancellationToken);
            await progressStop.CancelAsync();
            await progressLoop;

            var nodesAfter = await SettledNodesAsync(control, clients, target, cancellationToken);
            Write("after: " + Describe(nodesAfter));
            return Summarise(started, loadBefore, cpuBefore, connectSeconds, clients, onTarget, target, windowMs, nodesBefore, nodesAfter, watch, drainStart, published, publishSeconds, allDelivered) with { DrainRequestTimeouts = drainTimeouts };
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    private async Task CheckNodesAsync(ControlPlaneClient control, CancellationToken cancellationToken)
    {
        var nodes = await control.NodesAsync(cancellationToken);
        var active = nodes.Where(n => n.State == "active").ToList();
        var listed = nodes.Count == 0 ? "none" : string.Join(", ", nodes.Select(n => $"{n.Id} ({n.State})"));
        if (active.Count < 2)
        {
            throw new InvalidOperationException($"a drain needs at least 2 active nodes; the registry at {options.AdminBase} lists: {listed}");
        }

        if (options.DrainNode is { } id && active.All(n => n.Id != id))
        {
            throw new InvalidOperationException($"--drain-node {id} is not an active node; the registry lists: {listed}");
        }
    }

    private async Task<ResumingSubscriber[]> ConnectAllAsync(IReadOnlyList<string> topics, CancellationToken cancellationToken)
    {
        var sources = new SourceAddressPool(options.SourceAddresses > 0 ? options.SourceAddresses : SourceAddressPool.For(options.Subscribers));
        var subProtocol = ClientProtocols.SubProtocol(ClientProtocol.Gateway);
        var connectors = options.Urls.Select(u => new WebSocketConnector(u, subProtocol, sources, options.SocketReadBufferBytes)).ToArray();

        // Enough bits for the expected run; the tracker grows if it runs longer.
        var expectedPerTopic = (long)(options.Rate / options.Topics * (options.BeforeSeconds + options.AfterSeconds + 30));
        var clients = new ResumingSubscriber[options.Subscribers];
        var connected = 0;
        using var progressStop = new CancellationTokenSource();
        var progressLoop = ConnectProgressAsync(() => Volatile.Read(ref connected), progressStop.Token);
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.ConnectConcurrency, CancellationToken = cancellationToken };
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, options.Subscribers), parallel, async (i, ct) =>
            {
                var client = new ResumingSubscriber(i, topics[i % topics.Count], connectors[i % connectors.Length], _timeline, expectedPerTopic, options.ReceiveBufferBytes);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(ConnectTimeout);
                try
                {
                    await client.ConnectAsync(timeout.Token);
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    throw new TimeoutException($"client {i} could not connect and subscribe through {options.Urls[i % options.Urls.Count]} within {ConnectTimeout.TotalSeconds:0} s");
                }

                clients[i] = client;
                Interlocked.Increment(ref connected);
            });
        }
        catch
        {
            await Task.WhenAll(clients.Where(c => c is not null).Select(c => c.DisposeAsync().AsTask()));
            throw;
        }
        finally
        {
            await progressStop.CancelAsync();
            await progressLoop;
        }

        return clients;
    }

    /// <summary>Unmeasured traffic first (negative payload seq): JIT, pools and every node's durable feed settle.</summary>
    private async Task WarmUpAsync(PacedPublisher paced, ResumingSubscriber[] clients, CancellationToken cancellationToken)
    {
        var perTopic = (long)(options.Rate * options.WarmupSeconds / options.Topics);
        if (perTopic == 0)
        {
            return;
        }

        await paced.RunWarmupAsync(options.Rate, perTopic * options.Topics, cancellationToken);
        var deadline = Stopwatch.GetTimestamp() + (long)(options.DrainTimeoutSeconds * Stopwatch.Frequency);
        while (clients.Any(c => c.WarmupReceived < perTopic) && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(20, cancellationToken);
        }

        await Task.Delay(200, cancellationToken);
    }

    private static async Task DelayWhilePublishingAsync(double seconds, Task publishing, CancellationToken cancellationToken)
    {
        var delay = Task.Delay(TimeSpan.FromSeconds(seconds), cancellationToken);
        if (await Task.WhenAny(delay, publishing) == publishing)
        {
            await publishing; // a publisher that failed (NATS gone) ends the run with its error
            throw new InvalidOperationException("the publisher stopped before the run ended");
        }

        await delay;
    }

    /// <summary>
    /// Polls the admin API and the node's own /metrics every 100 ms until the node reports
    /// <c>drained</c>, its <c>gateway_connections</c> is 0 and every client it had is subscribed
    /// elsewhere, or <c>--empty-timeout</c>.
    /// </summary>
    private async Task<DrainWatch> WatchDrainAsync(ControlPlaneClient control, HttpClient http, string target, string? targetUrl, long drainStart, List<ResumingSubscriber> onTarget, CancellationToken cancellationToken)
    {
        var metrics = targetUrl is not null && Uri.TryCreate(targetUrl.TrimEnd('/') + "/metrics", UriKind.Absolute, out var m) && IsLoopback(m) ? m : null;
        double? toDrained = null, toZero = null;
        var deadline = drainStart + (long)(options.EmptyTimeoutSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < deadline)
        {
            var node = await control.NodeAsync(target, cancellationToken);
            var elapsed = Stopwatch.GetElapsedTime(drainStart).TotalSeconds;
            if (toDrained is null && node is { State: "drained" })
            {
                toDrained = elapsed;
                Write($"{target} reports drained after {elapsed:0.00} s");
            }

            if (metrics is not null && toZero is null)
            {
                try
                {
                    var connections = (await ServerMetrics.ScrapeAsync(http, metrics, cancellationToken)).Connections;
                    Volatile.Write(ref _targetConnections, connections);
                    if (connections <= 0)
                    {
                        toZero = Stopwatch.GetElapsedTime(drainStart).TotalSeconds;
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // The node may be busy or gone; the admin API still decides.
                }
            }

            var moved = onTarget.All(c => c.Resubscribes > 0 && !c.Moving);
            if (toDrained is not null && (toZero is not null || metrics is null) && moved)
            {
                break;
            }

            await Task.Delay(PollInterval, cancellationToken);
        }

        if (toDrained is null)
        {
            Write($"{target} did not report drained within {options.EmptyTimeoutSeconds:0} s");
        }

        var lastMoved = onTarget.Count > 0 && onTarget.All(c => c.ResubscribedAt > drainStart)
            ? Stopwatch.GetElapsedTime(drainStart, onTarget.Max(c => c.ResubscribedAt)).TotalSeconds
            : (double?)null;
        return new DrainWatch(toDrained, toZero, lastMoved);
    }

    /// <summary>
    /// Waits until every client has every message of its topic. Gives up when no message arrived
    /// for <c>--drain-timeout</c> (what is missing then counts as lost), or after
    /// <see cref="DrainOptions.MaxDeliveryWaitSeconds"/>.
    /// </summary>
    private async Task<bool> WaitForDeliveriesAsync(ResumingSubscriber[] clients, long published, int topicCount, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        var lastProgress = start;
        var received = clients.Sum(c => c.Received);
        while (true)
        {
            if (clients.Select((c, i) => c.Distinct >= PublishedOn(i % topicCount, published, topicCount)).All(done => done))
            {
                return true;
            }

            var now = clients.Sum(c => c.Received);
            if (now != received)
            {
                (received, lastProgress) = (now, Stopwatch.GetTimestamp());
            }

            if (Stopwatch.GetElapsedTime(lastProgress).TotalSeconds > options.DrainTimeoutSeconds || Stopwatch.GetElapsedTime(start).TotalSeconds > DrainOptions.MaxDeliveryWaitSeconds)
            {
                return false;
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>
    /// Node counts once the registry has caught up: every subscribed client counted by some node's
    /// heartbeat, and the drained node at 0. Gives up after three heartbeats and takes what it has.
    /// </summary>
    private static async Task<List<NodeCount>> SettledNodesAsync(ControlPlaneClient control, ResumingSubscriber[] clients, string? drainedNode, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(RegistrySettleTimeout.TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var nodes = await control.NodesAsync(cancellationToken);
            var byClients = clients.Where(c => c.Node is not null).GroupBy(c => c.Node!).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var settled = nodes.Sum(n => n.Connections) == byClients.Values.Sum() &&
                (drainedNode is null || nodes.All(n => n.Id != drainedNode || n.Connections == 0));
            if (settled || Stopwatch.GetTimestamp() > deadline)
            {
                var counts = nodes.Select(n => new NodeCount(n.Id, n.State, n.Connections, byClients.GetValueOrDefault(n.Id))).ToList();
                counts.AddRange(byClients.Where(kv => nodes.All(n => n.Id != kv.Key)).Select(kv => new NodeCount(kv.Key, "unlisted", 0, kv.Value)));
                return [.. counts.OrderBy(c => c.Node, StringComparer.Ordinal)];
            }

            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>Messages topic <paramref name="topic"/> got when <paramref name="published"/> were sent round-robin over <paramref name="topics"/>.</summary>
    internal static long PublishedOn(int topic, long published, int topics) => (published / topics) + (topic < published % topics ? 1 : 0);

    private static bool IsLoopback(Uri uri) =>
        uri.Host == "localhost" || (IPAddress.TryParse(uri.Host, out var ip) && IPAddress.IsLoopback(ip));

    private static string Describe(IEnumerable<NodeCount> nodes) =>
        string.Join(", ", nodes.Select(n => $"{n.Node} {n.State} {n.RegistryConnections:N0} (clients {n.Clients:N0})"));

    private void Write(string line) => progress.WriteLine(line);

    private sealed record DrainWatch(double? SecondsToDrained, double? SecondsToZeroConnections, double? SecondsToLastClientMoved);
}
