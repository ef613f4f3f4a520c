using System.Globalization;

namespace PubSubGateway.LoadTest.Measurement;

/// <summary>The gateway figures the report needs, from one scrape of its Prometheus <c>/metrics</c>.</summary>
internal sealed record ServerMetrics(
    double Delivered,
    double AllocatedBytes,
    double CpuSeconds,
    double Dropped,
    double Connections,
    IReadOnlyList<(double UpperBound, double Count)> LatencyBuckets)
{
    /// <summary><c>gateway_outbound_queue_bytes</c>: bytes queued for client sockets, not yet written.</summary>
    public double OutboundQueueBytes { get; init; }

    /// <summary><c>gateway_connections_rejected_total</c> over every reason (per-IP, node and user limits).</summary>
    public double ConnectionsRejected { get; init; }

    /// <summary><c>gateway_connections_opened_total</c>.</summary>
    public double ConnectionsOpened { get; init; }

    /// <summary><c>gateway_process_gc_collections{generation="0"}</c>: every collection (each counts gen0).</summary>
    public double GcCollections { get; init; }

    /// <summary><c>gateway_process_gc_pause_seconds</c>.</summary>
    public double GcPauseSeconds { get; init; }

    internal const string Gen0Collections = "gateway_process_gc_collections{generation=\"0\"} ";

    private const string LatencyBucket = "gateway_delivery_latency_seconds_bucket{le=\"";

    /// <summary>
    /// Upper bound (seconds) of the histogram bucket holding the <paramref name="percentile"/> of the
    /// server-side delivery latency (frame encoded → written to the socket) between two scrapes.
    /// Coarse (buckets double), but it tells server queueing apart from client-side delay.
    /// </summary>
    public static double LatencyPercentile(ServerMetrics before, ServerMetrics after, double percentile)
    {
        var deltas = after.LatencyBuckets
            .Select(b => (b.UpperBound, Count: b.Count - before.LatencyBuckets.FirstOrDefault(x => x.UpperBound == b.UpperBound).Count))
            .OrderBy(b => b.UpperBound)
            .ToList();
        var total = deltas.Count == 0 ? 0 : deltas[^1].Count;
        if (total <= 0)
        {
            return double.NaN;
        }

        return deltas.First(b => b.Count >= total * percentile / 100).UpperBound;
    }

    public static async Task<ServerMetrics> ScrapeAsync(HttpClient http, Uri metricsUri, CancellationToken cancellationToken)
    {
        var text = await http.GetStringAsync(metricsUri, cancellationToken);
        var samples = Parse(text);
        return new ServerMetrics(
            samples.GetValueOrDefault("gateway_messages_delivered_total"),
            samples.GetValueOrDefault("gateway_process_allocated_bytes"),
            samples.GetValueOrDefault("gateway_process_cpu_seconds"),
            samples.GetValueOrDefault("gateway_messages_dropped_total"),
            samples.GetValueOrDefault("gateway_connections"),
            Buckets(text))
        {
            OutboundQueueBytes = samples.GetValueOrDefault("gateway_outbound_queue_bytes"),
            ConnectionsRejected = samples.GetValueOrDefault("gateway_connections_rejected_total"),
            ConnectionsOpened = samples.GetValueOrDefault("gateway_connections_opened_total"),
            GcCollections = Sample(text, Gen0Collections),
            GcPauseSeconds = samples.GetValueOrDefault("gateway_process_gc_pause_seconds"),
        };
    }

    /// <summary>The value of the one sample whose line starts with <paramref name="prefix"/> (name and labels), 0 if absent.</summary>
    internal static double Sample(string text, string prefix)
    {
        var at = text.IndexOf("\n" + prefix, StringComparison.Ordinal);
        if (at < 0)
        {
            return 0;
        }

        var start = at + 1 + prefix.Length;
        var end = text.IndexOf('\n', start);
        var value = text.AsSpan(start, (end < 0 ? text.Length : end) - start).Trim();
        return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : 0;
    }

    private static List<(double UpperBound, double Count)> Buckets(string text)
    {
        var buckets = new List<(double, double)>();
        foreach (var line in text.Split('\n'))
        {
            if (!line.StartsWith(LatencyBucket, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = line.AsSpan(LatencyBucket.Length);
            var quote = rest.IndexOf('"');
            var bound = rest[..quote] is "+Inf" ? double.PositiveInfinity : double.Parse(rest[..quote], NumberStyles.Float, CultureInfo.InvariantCulture);
            var count = double.Parse(rest[(rest.LastIndexOf(' ') + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture);
            buckets.Add((bound, count));
        }

        return buckets;
    }

    /// <summary>Sums each metric over its label sets.</summary>
    public static Dictionary<string, double> Parse(string text)
    {
        var sums = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var space = line.LastIndexOf(' ');
            if (space < 0 || !double.TryParse(line.AsSpan(space + 1), NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                continue;
            }

            var nameEnd = line.IndexOfAny(['{', ' ']);
            var name = line[..nameEnd];
            sums[name] = sums.GetValueOrDefault(name) + value;
        }

        return sums;
    }
}
