using System.Globalization;

namespace PubSubGateway.LoadTest.Measurement;

/// <summary>The gateway figures the report needs, from one scrape of its Prometheus <c>/metrics</c>.</summary>
internal sealed record ServerMetrics(double Delivered, double AllocatedBytes, double CpuSeconds, double Dropped, double Connections)
{
    public static async Task<ServerMetrics> ScrapeAsync(HttpClient http, Uri metricsUri, CancellationToken cancellationToken)
    {
        var text = await http.GetStringAsync(metricsUri, cancellationToken);
        var samples = Parse(text);
        return new ServerMetrics(
            samples.GetValueOrDefault("gateway_messages_delivered_total"),
            samples.GetValueOrDefault("gateway_process_allocated_bytes"),
            samples.GetValueOrDefault("gateway_process_cpu_seconds"),
            samples.GetValueOrDefault("gateway_messages_dropped_total"),
            samples.GetValueOrDefault("gateway_connections"));
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
