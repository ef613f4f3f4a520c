using PubSubGateway.LoadTest.Measurement;

namespace PubSubGateway.LoadTest.Tests.Measurement;

/// <summary>Reading single samples out of the gateway's Prometheus text.</summary>
public sealed class ServerMetricsTests
{
    private const string Text = """
        # HELP gateway_process_gc_collections Garbage collections since the process started, by generation.
        # TYPE gateway_process_gc_collections gauge
        gateway_process_gc_collections{generation="0"} 31
        gateway_process_gc_collections{generation="1"} 16
        gateway_process_gc_collections{generation="2"} 3
        gateway_process_gc_pause_seconds 1.057182
        """;

    [Fact]
    public void Gen0_collections_are_read_from_their_own_label_and_the_pause_as_the_plain_sum()
    {
        Assert.Equal(31, ServerMetrics.Sample(Text, ServerMetrics.Gen0Collections));
        Assert.Equal(1.057182, ServerMetrics.Parse(Text)["gateway_process_gc_pause_seconds"], 6);

        // Summed over labels the collections would be counted twice or three times over.
        Assert.Equal(50, ServerMetrics.Parse(Text)["gateway_process_gc_collections"]);
    }

    [Fact]
    public void A_missing_sample_reads_as_zero()
    {
        Assert.Equal(0, ServerMetrics.Sample("gateway_connections 3\n", ServerMetrics.Gen0Collections));
    }
}
