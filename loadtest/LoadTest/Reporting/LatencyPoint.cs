namespace PubSubGateway.LoadTest.Reporting;

/// <summary>
/// One interval of a run's time series: the latencies recorded in it alone and how many there were.
/// <see cref="Count"/> counts deliveries (fanout, topics, soak) or subscribed connects (churn, whose
/// latency is connect → ack). Percentiles are NaN for an interval with no sample.
/// </summary>
/// <param name="EndSeconds">End of the interval, seconds since the measured window began.</param>
/// <param name="Seconds">Length of the interval (the last one of a run is usually shorter).</param>
internal sealed record LatencyPoint(
    double EndSeconds,
    double Seconds,
    long Count,
    double PerSecond,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double MaxMs);
