using System.Net;
using System.Text.RegularExpressions;

namespace PubSubGateway.LoadTest.Cli;

/// <summary>Settings of the <c>drain</c> scenario: clients behind the router(s), durable topics, one node drained through the admin API.</summary>
internal sealed partial record DrainOptions
{
    public const string DefaultUrl = "ws://127.0.0.1:8000/ws";

    /// <summary>Router WebSocket endpoints; client i connects (and reconnects) through <c>Urls[i % Urls.Count]</c>.</summary>
    public IReadOnlyList<Uri> Urls { get; init; } = [new(DefaultUrl)];

    /// <summary>Base URL of the control plane's admin API; defaults to the first router's host.</summary>
    public Uri? AdminUrl { get; init; }

    public string? AdminToken { get; init; }

    /// <summary>Node to drain; null = the node with the most connections.</summary>
    public string? DrainNode { get; init; }

    /// <summary>Sent as <c>deadline_ms</c>; null = the node's <c>Gateway:Drain:WindowMs</c>.</summary>
    public double? DrainWindowSeconds { get; init; }

    public Uri Nats { get; init; } = new("nats://127.0.0.1:4222");

    public string SubjectPrefix { get; init; } = "gw.topic";

    public int Subscribers { get; init; } = 15_000;

    public int Topics { get; init; } = 20;

    public string TopicPrefix { get; init; } = "bench";

    /// <summary>Messages per second published, over all topics.</summary>
    public double Rate { get; init; } = 20;

    public int PayloadBytes { get; init; } = 128;

    public double WarmupSeconds { get; init; } = 1;

    /// <summary>Measured publishing before the drain request.</summary>
    public double BeforeSeconds { get; init; } = 5;

    /// <summary>Measured publishing after the node reported <c>drained</c>.</summary>
    public double AfterSeconds { get; init; } = 5;

    /// <summary>Longest wait for the node to report <c>drained</c>.</summary>
    public double EmptyTimeoutSeconds { get; init; } = 60;

    /// <summary>
    /// After publishing, wait for every client to have every message for as long as deliveries keep
    /// coming; give up once none arrived for this long (a replay backlog on a busy machine can take
    /// longer than any fixed deadline, and is late, not lost).
    /// </summary>
    public double DrainTimeoutSeconds { get; init; } = 15;

    /// <summary>Upper bound of that wait, however much is still arriving.</summary>
    public const double MaxDeliveryWaitSeconds = 300;

    public int ConnectConcurrency { get; init; } = 64;

    public int SourceAddresses { get; init; }

    public int ReceiveBufferBytes { get; init; } = 1024;

    /// <summary>Per-client socket read buffer; each client gets a few messages per second, so less than the fan-out default.</summary>
    public int SocketReadBufferBytes { get; init; } = 4096;

    public string? JsonPath { get; init; }

    public string? Label { get; init; }

    public bool FailOnLoss { get; init; }

    public bool Quiet { get; init; }

    public Uri AdminBase => AdminUrl ?? new UriBuilder("http", Urls[0].Host, Urls[0].Port, "/").Uri;

    public IReadOnlyList<string> TopicNames => [.. Enumerable.Range(0, Topics).Select(i => $"{TopicPrefix}.t{i}")];

    private static readonly IReadOnlySet<string> Flags = new HashSet<string>(StringComparer.Ordinal) { "fail-on-loss", "quiet", "smoke" };

    public static string Usage => """
        usage: LoadTest drain [options]
          N clients connect through the router(s), subscribe to K durable topics and follow `reconnect`
          frames (wait after_ms, reconnect through the router, sub with since = last seq). A backend
          publishes through NATS. After --before seconds one node is drained through the admin API.
          --url ws://127.0.0.1:8000/ws[,ws://…]  router WebSocket endpoint(s), comma-separated; clients are
                                         spread over them round-robin (loopback only)
          --admin URL                    control-plane admin API base (default: the first router's host)
          --admin-token TOKEN            bearer token when ControlPlane:AdminToken is set
          --drain-node ID                node to drain (default: the one with the most connections)
          --drain-window S               deadline_ms sent with the drain (default: the node's Gateway:Drain:WindowMs)
          --nats nats://127.0.0.1:4222   NATS URL the backend publishes to
          --subscribers N                clients (default 15000)
          --topics K                     durable topics P.t0..P.tK-1, client i on topic i % K (default 20)
          --topic-prefix P               (default bench)
          --rate R                       messages per second, over all topics (default 20: 1 msg/s per client with 20 topics)
          --payload B                    payload size in bytes, >= 64 (default 128)
          --warmup S                     unmeasured publishing first (default 1)
          --before S                     measured publishing before the drain (default 5)
          --after S                      measured publishing after the node reported drained (default 5)
          --empty-timeout S              longest wait for the node to report drained (default 60)
          --drain-timeout S              after publishing, stop waiting for missing messages once none
                                         arrived for S seconds (default 15; at most 300 s in all)
          --source-addresses N           spread clients over 127.0.0.2..N+1 (default: one per 20,000 clients)
          --connect-concurrency N        connections opened at once at the start (default 64)
          --read-buffer B                per-client socket read buffer, 0 = none (default 4096)
          --json FILE                    write the result as JSON
          --label TEXT                   free text copied into the result
          --fail-on-loss                 exit 3 on any lost or duplicated message, a client left behind,
                                         or a node that did not empty
          --smoke                        CI preset: 60 clients, 3 topics, 150 msg/s, 1 s before and after,
                                         --fail-on-loss
          --quiet                        no progress line
        """;

    public static (DrainOptions? Options, IReadOnlyList<string> Errors) Parse(IEnumerable<string> args)
    {
        var a = new ArgReader(args, Flags);
        var smoke = a.Flag("smoke");
        var urls = ParseUrls(a.String("url", DefaultUrl), a.Errors);
        var subscribers = a.Int("subscribers", smoke ? 60 : 15_000, 1, 1_000_000);
        var windowText = a.String("drain-window");
        var options = new DrainOptions
        {
            Urls = urls,
            AdminUrl = a.Uri("admin", null, "http"),
            AdminToken = a.String("admin-token"),
            DrainNode = a.String("drain-node"),
            DrainWindowSeconds = windowText is null ? null : a.Seconds("drain-window", 0, 0.001, 3600),
            Nats = a.Uri("nats", "nats://127.0.0.1:4222", "nats") ?? new Uri("nats://127.0.0.1:4222"),
            Subscribers = subscribers,
            Topics = a.Int("topics", smoke ? 3 : 20, 1, 100_000),
            TopicPrefix = a.String("topic-prefix", "bench"),
            Rate = a.Number("rate", smoke ? 150 : 20, 0.1, 1_000_000),
            PayloadBytes = a.Int("payload", 128, Payloads.BenchPayload.MinimumBytes, 1024 * 1024),
            WarmupSeconds = a.Seconds("warmup", smoke ? 0.5 : 1, 0, 600),
            BeforeSeconds = a.Seconds("before", smoke ? 1 : 5, 0, 3600),
            AfterSeconds = a.Seconds("after", smoke ? 1 : 5, 0, 3600),
            EmptyTimeoutSeconds = a.Seconds("empty-timeout", 60, 0.1, 3600),
            DrainTimeoutSeconds = a.Seconds("drain-timeout", 15, 0.1, 600),
            ConnectConcurrency = a.Int("connect-concurrency", 64, 1, 10_000),
            SourceAddresses = a.Int("source-addresses", 0, 0, 250),
            SocketReadBufferBytes = a.Int("read-buffer", 4096, 0, 1024 * 1024),
            JsonPath = a.String("json"),
            Label = a.String("label"),
            FailOnLoss = smoke || a.Flag("fail-on-loss"),
            Quiet = a.Flag("quiet"),
        };
        a.RejectUnknown();
        a.Errors.AddRange(options.Validate());
        return a.Errors.Count == 0 ? (options, []) : (null, a.Errors);
    }

    /// <summary>Every problem with these settings (empty when they are usable).</summary>
    public IEnumerable<string> Validate()
    {
        foreach (var url in Urls)
        {
            if (!IsLoopback(url.Host))
            {
                yield return $"--url must point at this machine (127.0.0.0/8 or localhost), got {url.Host}";
            }
        }

        foreach (var (name, uri) in new[] { ("admin", AdminUrl), ("nats", (Uri?)Nats) })
        {
            if (uri is not null && !IsLoopback(uri.Host))
            {
                yield return $"--{name} must point at this machine (127.0.0.0/8 or localhost), got {uri.Host}";
            }
        }

        if (Topics > Subscribers)
        {
            yield return $"--topics ({Topics}) must not exceed --subscribers ({Subscribers}): every topic needs a client";
        }

        if (!TopicPrefixPattern().IsMatch(TopicPrefix))
        {
            yield return $"--topic-prefix must be dot-separated tokens of [A-Za-z0-9_-] (got '{TopicPrefix}')";
        }

        if (DrainNode is { Length: 0 })
        {
            yield return "--drain-node must not be empty";
        }

        if (AdminToken is { Length: 0 })
        {
            yield return "--admin-token must not be empty";
        }
    }

    private static List<Uri> ParseUrls(string text, List<string> errors)
    {
        var urls = new List<Uri>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (Uri.TryCreate(part, UriKind.Absolute, out var uri) && uri.Scheme == "ws")
            {
                urls.Add(uri);
            }
            else
            {
                errors.Add($"--url must be one or more absolute ws URLs separated by commas (got '{part}')");
            }
        }

        if (urls.Count == 0)
        {
            errors.Add("--url needs at least one ws URL");
            urls.Add(new Uri(DefaultUrl));
        }

        return urls;
    }

    private static bool IsLoopback(string host) =>
        host == "localhost" || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    [GeneratedRegex("^[A-Za-z0-9_-]+(\\.[A-Za-z0-9_-]+)*$")]
    private static partial Regex TopicPrefixPattern();
}
