namespace PubSubGateway.LoadTest.Reporting;

/// <summary>
/// One interval of a run's time series: the latencies recorded in it alone and how many there were.
/// <see cref="Count"/> counts deliveries (fanout, topics, soak) or subscribed connects (churn, whose
/// latency is connect → ack). Percentiles are NaN for an interval with no sample.
/// </summary>
/// <param name="EndSeconds">End of the interval, seconds since the measured window began.</param>
/// <param name="Seconds">Length of the interval (the last one of a run is usually shorter).</param>
/// <param name="ClientGcPauseMs">
/// Time the load tool itself was paused for garbage collection in the interval. The clients
/// measure latency, so a pause here shows up as latency that no server caused.
/// </param>
/// <param name="ClientGcCollections">The load tool's garbage collections in the interval (all generations).</param>
internal sealed record LatencyPoint(
    double EndSeconds,
    double Seconds,
    long Count,
    double PerSecond,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double MaxMs,
    double ClientGcPauseMs = 0,
    int ClientGcCollections = 0);
