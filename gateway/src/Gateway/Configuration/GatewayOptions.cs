namespace PubSubGateway.Configuration;

/// <summary>Settings under <c>Gateway:</c>. Bound once at start-up and validated by <see cref="GatewayOptionsValidator"/>.</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Node id; defaults to <c>POD_NAME</c> or the host name.</summary>
    public string? NodeId { get; set; }

    /// <summary>URL the router uses to reach this node; defaults to the first <c>--urls</c> address.</summary>
    public string? AdvertiseUrl { get; set; }

    /// <summary>NATS subject prefix: topic <c>a.b</c> maps to <c>&lt;prefix&gt;.a.b</c>.</summary>
    public string SubjectPrefix { get; set; } = "gw.topic";

    public LimitOptions Limits { get; set; } = new();

    public OutboundOptions Outbound { get; set; } = new();

    public HeartbeatOptions Heartbeat { get; set; } = new();

    /// <summary>
    /// Origins allowed to open browser WebSockets (exact match, e.g. <c>https://app.example.com</c>).
    /// Empty: any origin. Requests without an Origin header (non-browser clients) are always allowed.
    /// </summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>
    /// Proxies (IP addresses or CIDR ranges, e.g. the router's pod network) whose
    /// <c>X-Forwarded-For</c> names the real client. Per-IP limits and rate limits then apply to the
    /// client's address instead of the proxy's. Empty: the header is ignored.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>
    /// Complete well-formed <c>/ws</c> upgrades on the raw Kestrel connection, without an ASP.NET
    /// Core HTTP request kept open under each WebSocket (about 8.9 KiB per idle connection, see
    /// BENCHMARKS.md). Everything else, including every rejected handshake, still goes through the
    /// HTTP pipeline. False: every upgrade goes through the HTTP pipeline.
    /// </summary>
    public bool RawHandshake { get; set; } = true;
}

public sealed class LimitOptions
{
    /// <summary>Largest client frame accepted; a bigger one closes the connection with 1009.</summary>
    public int MaxFrameBytes { get; set; } = 64 * 1024;

    /// <summary>Largest publish payload (the <c>data</c> value, an HTTP body, or a message from NATS).</summary>
    public int MaxPayloadBytes { get; set; } = 64 * 1024;

    public int MaxSubscriptionsPerConnection { get; set; } = 256;

    /// <summary>Connections beyond this are accepted and closed at once with 1013 (try later).</summary>
    public int MaxConnections { get; set; } = 20_000;

    /// <summary>At most 256 (the protocol's ceiling).</summary>
    public int MaxTopicBytes { get; set; } = 256;

    /// <summary>At most 16 (the protocol's ceiling).</summary>
    public int MaxTopicTokens { get; set; } = 16;

    /// <summary>Protocol errors tolerated per connection within <see cref="ErrorWindowSeconds"/> before a 1008 close.</summary>
    public int MaxErrorsPerWindow { get; set; } = 20;

    public int ErrorWindowSeconds { get; set; } = 10;

    /// <summary>Sustained publishes per second per connection (token bucket refill rate).</summary>
    public int PublishRatePerSecond { get; set; } = 100;

    /// <summary>Token bucket size: publishes allowed in a burst.</summary>
    public int PublishBurst { get; set; } = 200;

    /// <summary>Rate-limited publishes tolerated within the error window before a 4029 close.</summary>
    public int MaxRateLimitStrikes { get; set; } = 50;

    /// <summary>Open connections per client IP; beyond it the upgrade gets HTTP 429.</summary>
    public int MaxConnectionsPerIp { get; set; } = 1_000;

    /// <summary>Open connections per authenticated user (JWT <c>sub</c>); beyond it, close 1013.</summary>
    public int MaxConnectionsPerUser { get; set; } = 100;

    /// <summary>Time allowed for the request line and headers of the upgrade (slow handshakes are cut).</summary>
    public int HandshakeTimeoutMs { get; set; } = 10_000;

    /// <summary>A connection with no subscription that sends nothing for this long is closed (1008).</summary>
    public int IdleTimeoutMs { get; set; } = 60_000;

    /// <summary>Deepest JSON nesting accepted in client frames and payloads.</summary>
    public int MaxJsonDepth { get; set; } = 32;

    /// <summary>HTTP publish requests per second per client IP.</summary>
    public int HttpPublishRatePerSecond { get; set; } = 1_000;
}

public enum SlowConsumerPolicy
{
    /// <summary>Close the connection with 4008; the client reconnects (and resumes durable topics).</summary>
    Disconnect,

    /// <summary>Drop the oldest queued frames to make room, counting each drop.</summary>
    DropOldest,
}

public sealed class OutboundOptions
{
    /// <summary>Cap on bytes queued for one connection and not yet written to its socket.</summary>
    public int MaxQueueBytes { get; set; } = 1024 * 1024;

    public SlowConsumerPolicy SlowConsumerPolicy { get; set; } = SlowConsumerPolicy.Disconnect;

    /// <summary>How long a closing connection may take to flush its close frame before it is aborted.</summary>
    public int CloseTimeoutMs { get; set; } = 5_000;

    /// <summary>
    /// A message for a topic with at most this many local subscribers is written straight into an
    /// idle subscriber's socket on the thread that received it, skipping the writer loop's wake-up
    /// (lower latency when fan-out is small). Larger fan-outs go through the writer loops, which
    /// spread the sends over the cores and coalesce them. 0 turns direct writes off.
    /// </summary>
    public int DirectWriteMaxSubscribers { get; set; } = 8;

    /// <summary>
    /// An upgraded connection writes straight to its socket instead of through Kestrel's output
    /// pipe (no copy into the pipe, no hop to Kestrel's I/O thread). Applies only when Kestrel's
    /// socket transport exposes the socket and no TLS sits in between; false always uses the pipe.
    /// </summary>
    public bool WriteToSocket { get; set; } = true;
}

public sealed class HeartbeatOptions
{
    /// <summary>Interval of server WebSocket pings (also announced in <c>hello.heartbeat_ms</c>).</summary>
    public int IntervalMs { get; set; } = 15_000;

    /// <summary>A peer that has not answered a ping within this time is closed.</summary>
    public int TimeoutMs { get; set; } = 30_000;
}
