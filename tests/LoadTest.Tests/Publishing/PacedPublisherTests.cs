using System.Collections.Concurrent;
using PubSubGateway.LoadTest.Payloads;
using PubSubGateway.LoadTest.Publishing;

namespace PubSubGateway.LoadTest.Tests.Publishing;

/// <summary>The open-ended warm-up: ended on request, on a whole round over the topics.</summary>
public sealed class PacedPublisherTests
{
    [Fact]
    public async Task An_ended_warmup_stops_soon_after_a_whole_round_over_the_topics()
    {
        var sink = new CountingPublisher();
        var topics = new[] { "a", "b", "c" };
        var paced = new PacedPublisher(sink, topics, payloadBytes: 64);

        var warming = paced.RunWarmupAsync(rate: 3_000, count: 3_000_000, default);
        await Task.Delay(300);
        paced.EndWarmup();
        var ended = await Task.WhenAny(warming, Task.Delay(TimeSpan.FromSeconds(5)));

        Assert.Same(warming, ended);
        var sent = paced.WarmupSent;
        Assert.InRange(sent, 3, 30_000);
        Assert.Equal(0, sent % topics.Length);
        Assert.Equal(sent, sink.Published.Values.Sum());
        Assert.All(topics, t => Assert.Equal(sent / topics.Length, sink.Published[t]));
        Assert.Equal(0, paced.Sent);
        Assert.True(sink.AllWarmup, "warm-up payloads carry negative sequence numbers");
    }

    [Fact]
    public async Task A_warmup_not_ended_publishes_its_full_count_and_the_next_one_starts_afresh()
    {
        var sink = new CountingPublisher();
        var paced = new PacedPublisher(sink, ["a", "b"], payloadBytes: 64);
        paced.EndWarmup();

        // A request left from before does not cut the next warm-up short.
        await paced.RunWarmupAsync(rate: 10_000, count: 500, default);

        Assert.Equal(500, paced.WarmupSent);
        Assert.Equal(500, sink.Published.Values.Sum());
    }

    private sealed class CountingPublisher : IBenchPublisher
    {
        public ConcurrentDictionary<string, long> Published { get; } = new();

        public bool AllWarmup { get; private set; } = true;

        public string Kind => "counting";

        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask PublishAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
        {
            Published.AddOrUpdate(topic, 1, (_, n) => n + 1);
            AllWarmup &= BenchPayload.TryReadPayload(payload.Span, out var seq, out _) && seq < 0;
            return ValueTask.CompletedTask;
        }

        public Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
