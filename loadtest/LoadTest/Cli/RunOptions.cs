using System.Net;

namespace PubSubGateway.LoadTest.Cli;

/// <summary>Settings of a publish/subscribe scenario (<c>fanout</c>: one topic; <c>topics</c>: one topic per connection).</summary>
internal sealed record RunOptions
{
    public string Scenario { get; init; } = "fanout";

    public Uri Url { get; init; } = new("ws://127.0.0.1:8080/ws");

    public string Publisher { get; init; } = "nats";

    /// <summary><c>gateway</c> (protocol v1), or a peer to compare with: <c>nats-ws</c> (nats-server's WebSocket listener), <c>signalr</c> (loadtest/SignalRPeer).</summary>
    public string Target { get; init; } = "gateway";

    public Uri Nats { get; init; } = new("nats://127.0.0.1:4222");

    /// <summary>Base URL of the HTTP publish API; defaults to the gateway URL's host.</summary>
    public Uri? HttpUrl { get; init; }

    public Uri? Metrics { get; init; }

    /// <summary>Base URL of loadtest/GatewayProfiler's endpoints: reset before the measured window, report after it.</summary>
    public Uri? Profiler { get; init; }

    public int? ServerPid { get; init; }

    public int? BrokerPid { get; init; }

    public int Subscribers { get; init; } = 1000;

    /// <summary>Distinct topics; 1 for fanout, one per subscriber for the topics scenario.</summary>
    public int Topics { get; init; } = 1;

    public string TopicPrefix { get; init; } = "bench";

    public string SubjectPrefix { get; init; } = "gw.topic";

    /// <summary>Messages per second published, over all topics.</summary>
    public double Rate { get; init; } = 1000;

    public double DurationSeconds { get; init; } = 10;

    public double WarmupSeconds { get; init; } = 1;

    /// <summary>
    /// Longest warm-up: past <see cref="WarmupSeconds"/>, warming goes on until the JIT of the tool and
    /// of --server-pid is quiet (<see cref="Measurement.JitActivity"/>), at most this long. At or below
    /// <see cref="WarmupSeconds"/>: a fixed warm-up.
    /// </summary>
    public double WarmupMaxSeconds { get; init; } = 30;

    public double DrainTimeoutSeconds { get; init; } = 15;

    /// <summary>How long the connect scenario holds its connections before measuring.</summary>
    public double HoldSeconds { get; init; } = 5;

    public int PayloadBytes { get; init; } = 128;

    /// <summary>churn: each connection stays open a uniformly random time in [min, max] seconds.</summary>
    public double StayMinSeconds { get; init; } = 0.5;

    public double StayMaxSeconds { get; init; } = 2;

    /// <summary>Seconds between samples of the time series (soak: also RSS and outbound queue); 1 by default, 10 for soak.</summary>
    public double IntervalSeconds { get; init; } = 1;

    public int ConnectConcurrency { get; init; } = 64;

    public int SourceAddresses { get; init; }

    public int ReceiveBufferBytes { get; init; } = 1024;

    /// <summary>Per-client socket read buffer; lets one recv return many small frames.</summary>
    public int SocketReadBufferBytes { get; init; } = 16 * 1024;

    public string? JsonPath { get; init; }

    /// <summary>HTML file for the latency-over-time chart (fanout, topics, soak, churn).</summary>
    public string? ChartPath { get; init; }

    public bool FailOnLoss { get; init; }

    public bool Quiet { get; init; }

    public string? Label { get; init; }

    public long MessagesPerTopic => (long)Math.Round(Rate * DurationSeconds / Topics);

    public long TotalMessages => MessagesPerTopic * Topics;

    public Uri HttpBase => HttpUrl ?? new UriBuilder("http", Url.Host, Url.Port, "/").Uri;

    public IReadOnlyList<string> TopicNames =>
        Topics == 1 ? [TopicPrefix + ".t"] : Enumerable.Range(0, Topics).Select(i => $"{TopicPrefix}.t{i}").ToArray();

    public static readonly IReadOnlySet<string> Flags = new HashSet<string>(StringComparer.Ordinal) { "fail-on-loss", "quiet", "smoke" };

    public static string Usage(string scenario) => $"""
        usage: LoadTest {scenario} [options]
          --url ws://127.0.0.1:8080/ws   gateway WebSocket endpoint (loopback only)
          --target gateway|nats-ws|signalr  what --url is: a gateway (default), nats-server's WebSocket
                                         listener, or loadtest/SignalRPeer's /hub
          --publisher nats|http          publish through NATS (default) or POST /api/v1/publish
          --nats nats://127.0.0.1:4222   NATS URL for the nats publisher
          --http-url URL                 base URL of the publish API (default: the gateway's host)
          --subscribers N                client connections (default 1000{(scenario == "topics" ? ", each on its own topic" : ", all on one topic")})
          --rate R                       messages per second published, over all topics (default 1000;
                                         churn: background publishing to the topic, default 0 = none)
          --duration S                   seconds of measured publishing (default 10)
          --warmup S                     seconds of unmeasured publishing first (default 1)
          --warmup-max S                 then go on warming up until the JIT of this tool and of --server-pid has
                                         been quiet for 1 s, at most S seconds in all (default 30; smoke 0;
                                         at or below --warmup: a fixed warm-up)
          --payload B                    payload size in bytes, >= 64 (default 128)
          --topics K                     connect: spread the connections over K topics (default 1)
          --hold S                       connect: hold the connections this long before measuring (default 5)
          --stay-min S / --stay-max S    churn: each connection stays open a random time in [min, max] s (default 0.5 / 2)
          --interval S                   time-series interval: latency percentiles and deliveries/s every S seconds
                                         (default 1; soak 10, also RSS and queue); --duration takes 90, 90s, 30m, 2h
          --drain-timeout S              wait this long after publishing for every delivery (default 15)
          --metrics URL                  gateway /metrics, scraped before and after (server allocations, CPU)
          --profiler URL                 GatewayProfiler base URL (…/profiler): allocation samples of the measured window
          --server-pid P                 gateway process: CPU and RSS from /proc
          --broker-pid P                 nats-server process: CPU from /proc
          --source-addresses N           spread clients over 127.0.0.2..N+1 (default: one per 20,000 clients)
          --connect-concurrency N        connections opened at once (default 64)
          --read-buffer B                per-client socket read buffer, 0 = none (default 16384)
          --topic-prefix P               topics are P.t (fanout) or P.t0..P.tN (topics) (default bench; signalr for --target signalr)
          --json FILE                    write the result as JSON (with the time series)
          --chart FILE.html              write a self-contained HTML chart of p50/p90/p99/max latency and
                                         deliveries/s per interval (churn: connect→ack and connects/s)
          --label TEXT                   free text copied into the result
          --fail-on-loss                 exit 3 if any message was lost or duplicated
          --smoke                        CI preset: 20 subscribers, 200 msg/s, 2 s, --fail-on-loss
                                         (churn: 20 clients, 2 s, stay 0.05-0.3 s, 50 msg/s; soak: 3 s, 1 s samples)
          --quiet                        no progress line
        """;

    public static (RunOptions? Options, IReadOnlyList<string> Errors) Parse(string scenario, IEnumerable<string> args)
    {
        var a = new ArgReader(args, Flags);
        var smoke = a.Flag("smoke");
        var churn = scenario == "churn";
        var soak = scenario == "soak";
        var subscribers = a.Int("subscribers", smoke ? 20 : 1000, 1, 1_000_000);
        var target = a.String("target", "gateway");
        var options = new RunOptions
        {
            Scenario = scenario,
            Url = a.Uri("url", "ws://127.0.0.1:8080/ws", "ws") ?? new Uri("ws://127.0.0.1:8080/ws"),
            Publisher = a.String("publisher", "nats"),
            Target = target,
            Nats = a.Uri("nats", "nats://127.0.0.1:4222", "nats") ?? new Uri("nats://127.0.0.1:4222"),
            HttpUrl = a.Uri("http-url", null, "http"),
            Metrics = a.Uri("metrics", null, "http"),
            Profiler = a.Uri("profiler", null, "http"),
            ServerPid = a.String("server-pid") is null ? null : a.Int("server-pid", 0, 1, int.MaxValue),
            BrokerPid = a.String("broker-pid") is null ? null : a.Int("broker-pid", 0, 1, int.MaxValue),
            Subscribers = subscribers,
            Topics = scenario == "topics" ? subscribers : a.Int("topics", 1, 1, subscribers),
            HoldSeconds = a.Number("hold", 5, 0, 3600),
            // The SignalR peer bridges only gw.topic.signalr.> (so it idles during other targets' runs).
            TopicPrefix = a.String("topic-prefix", target == "signalr" ? "signalr" : "bench"),
            Rate = a.Number("rate", churn ? (smoke ? 50 : 0) : smoke ? 200 : 1000, churn ? 0 : 0.1, 10_000_000),
            DurationSeconds = a.Seconds("duration", smoke ? (soak ? 3 : 2) : soak ? 60 : 10, 0.1, 86_400),
            StayMinSeconds = a.Number("stay-min", smoke ? 0.05 : 0.5, 0, 3600),
            StayMaxSeconds = a.Number("stay-max", smoke ? 0.3 : 2, 0, 3600),
            IntervalSeconds = a.Seconds("interval", soak && !smoke ? 10 : 1, 0.1, 3600),
            WarmupSeconds = a.Number("warmup", smoke ? 0.5 : 1, 0, 600),
            WarmupMaxSeconds = a.Number("warmup-max", smoke ? 0 : 30, 0, 600),
            DrainTimeoutSeconds = a.Number("drain-timeout", 15, 0.1, 600),
            PayloadBytes = a.Int("payload", 128, Payloads.BenchPayload.MinimumBytes, 1024 * 1024),
            ConnectConcurrency = a.Int("connect-concurrency", 64, 1, 10_000),
            SourceAddresses = a.Int("source-addresses", 0, 0, 250),
            SocketReadBufferBytes = a.Int("read-buffer", 16 * 1024, 0, 1024 * 1024),
            JsonPath = a.String("json"),
            ChartPath = a.String("chart"),
            FailOnLoss = smoke || a.Flag("fail-on-loss"),
            Quiet = a.Flag("quiet"),
            Label = a.String("label"),
        };
        a.RejectUnknown();
        a.Errors.AddRange(options.Validate());
        return a.Errors.Count == 0 ? (options, []) : (null, a.Errors);
    }

    /// <summary>Every problem with these settings (empty when they are usable).</summary>
    public IEnumerable<string> Validate()
    {
        if (Publisher is not ("nats" or "http"))
        {
            yield return $"--publisher must be nats or http (got '{Publisher}')";
        }

        if (Target is not ("gateway" or "nats-ws" or "signalr"))
        {
            yield return $"--target must be gateway, nats-ws or signalr (got '{Target}')";
        }
        else if (Target != "gateway" && Publisher != "nats")
        {
            yield return $"--target {Target} needs --publisher nats";
        }

        foreach (var (name, uri) in new[] { ("url", (Uri?)Url), ("http-url", HttpUrl), ("metrics", Metrics), ("profiler", Profiler), ("nats", Nats) })
        {
            if (uri is not null && !IsLoopback(uri.Host))
            {
                yield return $"--{name} must point at this machine (127.0.0.0/8 or localhost), got {uri.Host}";
            }
        }

        if (!System.Text.RegularExpressions.Regex.IsMatch(TopicPrefix, "^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$"))
        {
            yield return $"--topic-prefix must be dot-separated tokens of [A-Za-z0-9_-] (got '{TopicPrefix}')";
        }

        if (ChartPath is not null && Scenario is not ("fanout" or "topics" or "soak" or "churn"))
        {
            yield return $"--chart is for fanout, topics, soak and churn, not {Scenario}";
        }

        // Found out before a long run, not when writing its result.
        if (ChartPath is not null && Path.GetDirectoryName(Path.GetFullPath(ChartPath)) is { } dir && !Directory.Exists(dir))
        {
            yield return $"--chart: directory {dir} does not exist";
        }

        if (StayMaxSeconds < StayMinSeconds)
        {
            yield return "--stay-max must be >= --stay-min";
        }

        if (Scenario != "churn" && MessagesPerTopic < 1)
        {
            yield return "--rate × --duration must give every topic at least one message";
        }
    }

    private static bool IsLoopback(string host) =>
        host == "localhost" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));
}
