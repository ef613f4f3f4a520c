using System.Text;
using PubSubGateway.LoadTest.Clients;
using PubSubGateway.LoadTest.Payloads;

namespace PubSubGateway.LoadTest.Tests.Payloads;

public sealed class BenchPayloadTests
{
    [Theory]
    [InlineData(64, 0, 1L)]
    [InlineData(128, 12345, 9_876_543_210_123L)]
    [InlineData(1024, -7, long.MaxValue)]
    public void Payload_is_valid_json_of_the_exact_size_and_reads_back_from_a_msg_frame(int size, long seq, long timestamp)
    {
        var payload = new byte[size];

        BenchPayload.Write(payload, seq, timestamp);

        using var doc = System.Text.Json.JsonDocument.Parse(payload);
        Assert.Equal(seq, doc.RootElement.GetProperty("seq").GetInt64());
        var frame = Encoding.UTF8.GetBytes("{\"op\":\"msg\",\"topic\":\"bench.t\",\"data\":" + Encoding.UTF8.GetString(payload) + "}");
        Assert.True(BenchPayload.IsMessage(frame));
        Assert.True(BenchPayload.TryRead(frame, out var readSeq, out var readTimestamp));
        Assert.Equal((seq, timestamp), (readSeq, readTimestamp));
    }

    [Fact]
    public void Tracker_counts_missing_duplicate_and_out_of_order_sequences()
    {
        var tracker = new SequenceTracker(expected: 4);

        foreach (var seq in new long[] { 0, 2, 1, 2, 4 })
        {
            tracker.Record(seq);
        }

        Assert.Equal(4, tracker.Distinct);
        Assert.Equal(1, tracker.Duplicates);
        Assert.Equal(1, tracker.OutOfOrder);
        Assert.Equal(1, tracker.Missing(5));
    }
}
