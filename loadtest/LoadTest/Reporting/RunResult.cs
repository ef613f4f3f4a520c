namespace PubSubGateway.LoadTest.Reporting;

/// <summary>Everything one run measured; written as JSON and summarised as a Markdown row.</summary>
internal sealed record RunResult
{
    public required string Scenario { get; init; }

    /// <summary>What the clients connected to: <c>gateway</c> or <c>nats-ws</c>.</summary>
    public string Target { get; init; } = "gateway";

    public string? Label { get; init; }

    public required DateTimeOffset StartedUtc { get; init; }

    public required string Url { get; init; }

    public required string Publisher { get; init; }

    public required int Subscribers { get; init; }

    public required int Connected { get; init; }

    public required int Topics { get; init; }

    public required int PayloadBytes { get; init; }

    public required double TargetRate { get; init; }

    public required double DurationSeconds { get; init; }

    public required double ConnectSeconds { get; init; }

    /// <summary>Seconds of unmeasured publishing before the measured window (see --warmup-max).</summary>
    public double WarmupSeconds { get; init; }

    /// <summary>True if the warm-up ended because the JIT of the tool and server went quiet, false if --warmup-max ended it, null for a fixed warm-up.</summary>
    public bool? WarmupJitQuiet { get; init; }

    public required long Published { get; init; }

    /// <summary>Messages per second the publisher achieved (<see cref="Published"/> over its publishing time).</summary>
    public required double PublishRate { get; init; }

    public required long ExpectedDeliveries { get; init; }

    /// <summary>Distinct measured messages received, over all clients.</summary>
    public required long Delivered { get; init; }

    public required long Lost { get; init; }

    public required long Duplicates { get; init; }

    public required long OutOfOrder { get; init; }

    public required int ClientsWithLoss { get; init; }

    /// <summary>Clients whose connection ended during the run (closed by the server or broken).</summary>
    public required int ClientsDisconnected { get; init; }

    /// <summary>True when every client received every message before the drain timeout.</summary>
    public required bool Drained { get; init; }

    /// <summary>Time from the last publish to the last delivery.</summary>
    public required double DrainSeconds { get; init; }

    /// <summary>Time from the first measured publish to the last delivery.</summary>
    public required double ElapsedSeconds { get; init; }

    public required double DeliveriesPerSecond { get; init; }

    public required LatencySummary Latency { get; init; }

    /// <summary>Length of the intervals of <see cref="Series"/> (--interval).</summary>
    public double IntervalSeconds { get; init; }

    /// <summary>Latency and deliveries/s per interval, from the first measured publish until drained (empty in results from before it existed).</summary>
    public IReadOnlyList<LatencyPoint> Series { get; init => field = value ?? []; } = [];

    public ServerFigures? Server { get; init; }

    public ProcessFigures? ServerProcess { get; init; }

    public ProcessFigures? Broker { get; init; }

    public required ProcessFigures Client { get; init; }

    public required double LoadAverageBefore { get; init; }

    public required double LoadAverageAfter { get; init; }
}

/// <summary>End-to-end latency (publish call → client parsed the frame), milliseconds.</summary>
internal sealed record LatencySummary(long Count, double P50Ms, double P90Ms, double P99Ms, double P999Ms, double MaxMs, double MeanMs);

/// <summary>
/// Deltas of the gateway's /metrics between just before and just after the measured window. The
/// latency bounds come from its delivery-latency histogram (encode → socket write, bucket upper bounds).
/// </summary>
internal sealed record ServerFigures(
    double Delivered,
    double Dropped,
    double AllocatedBytes,
    double AllocatedBytesPerDelivery,
    double CpuSeconds,
    double CpuSecondsPerMillionDeliveries,
    double LatencyP50UpperBoundMs,
    double LatencyP99UpperBoundMs)
{
    /// <summary>Garbage collections the gateway made in the window (every generation).</summary>
    public double GcCollections { get; init; }

    /// <summary>Time the gateway was paused for them; every connection stalls meanwhile.</summary>
    public double GcPauseSeconds { get; init; }
}

/// <summary>CPU and memory of one process over the measured window, from /proc (or the runtime for the load client).</summary>
internal sealed record ProcessFigures(double CpuSeconds, double CpuSecondsPerMillionDeliveries, long RssKiB, long PeakRssKiB);
