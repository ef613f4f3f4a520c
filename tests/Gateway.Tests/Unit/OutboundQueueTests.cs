using PubSubGateway.Configuration;
using PubSubGateway.Connections;
using PubSubGateway.Protocol;

namespace PubSubGateway.Tests.Unit;

public sealed class OutboundQueueTests
{
    [Fact]
    public void Disconnect_policy_refuses_a_frame_that_would_pass_the_byte_cap()
    {
        var queue = new OutboundQueue(1000, SlowConsumerPolicy.Disconnect);
        Assert.Equal(0, queue.Enqueue(Frame(600)));
        Assert.Equal(0, queue.Enqueue(Frame(400)));
        Assert.Equal(-1, queue.Enqueue(Frame(1)));
        Assert.Equal(1000, queue.Bytes);
        Assert.Equal(1000, queue.PeakBytes);
    }

    [Fact]
    public void Drop_oldest_policy_makes_room_and_reports_drops()
    {
        var queue = new OutboundQueue(1000, SlowConsumerPolicy.DropOldest);
        for (var i = 0; i < 10; i++)
        {
            queue.Enqueue(Frame(100));
        }

        Assert.Equal(3, queue.Enqueue(Frame(300)));
        Assert.Equal(1000, queue.Bytes);
        Assert.Equal(8, queue.Count);
    }

    [Fact]
    public async Task Waiter_wakes_on_enqueue_and_ends_on_complete()
    {
        var queue = new OutboundQueue(10_000, SlowConsumerPolicy.Disconnect);
        var wait = queue.WaitAsync();
        Assert.False(wait.IsCompleted);

        queue.Enqueue(Frame(10));
        Assert.True(await wait);
        Assert.True(queue.TryDequeue(out var frame));
        frame.Release();

        var second = queue.WaitAsync();
        queue.Complete(discardPending: false);
        Assert.False(await second);
        Assert.Equal(-1, queue.Enqueue(Frame(10)));
    }

    [Fact]
    public void Keeps_order_across_ring_growth()
    {
        var queue = new OutboundQueue(1_000_000, SlowConsumerPolicy.Disconnect);
        var frames = Enumerable.Range(1, 100).Select(Frame).ToList();
        foreach (var f in frames.Take(5))
        {
            queue.Enqueue(f);
        }

        queue.TryDequeue(out _);
        foreach (var f in frames.Skip(5))
        {
            queue.Enqueue(f);
        }

        var lengths = new List<int>();
        while (queue.TryDequeue(out var f))
        {
            lengths.Add(f.Length);
        }

        Assert.Equal(Enumerable.Range(2, 99), lengths);
    }

    [Fact]
    public async Task Direct_write_is_offered_only_to_a_parked_writer_with_nothing_queued()
    {
        var queue = new OutboundQueue(10_000, SlowConsumerPolicy.Disconnect);
        Assert.False(queue.TryBeginDirect()); // the writer is not parked yet

        var wait = queue.WaitAsync();
        Assert.True(queue.TryBeginDirect());
        Assert.False(queue.TryBeginDirect()); // one direct write at a time
        queue.EndDirect();
        Assert.False(wait.IsCompleted);

        queue.Enqueue(Frame(10)); // wakes the writer: it is no longer parked
        Assert.True(await wait);
        Assert.False(queue.TryBeginDirect());
    }

    [Fact]
    public async Task Frames_queued_during_a_direct_write_wake_the_writer_only_when_it_ends()
    {
        var queue = new OutboundQueue(10_000, SlowConsumerPolicy.Disconnect);
        var wait = queue.WaitAsync();
        Assert.True(queue.TryBeginDirect());

        Assert.Equal(0, queue.Enqueue(Frame(10)));
        Assert.Equal(0, queue.Enqueue(Frame(20)));
        Assert.False(wait.IsCompleted); // the writer must not overtake the direct write
        Assert.False(queue.TryBeginDirect());

        queue.EndDirect();
        Assert.True(await wait);
        Assert.True(queue.TryDequeue(out var first));
        Assert.True(queue.TryDequeue(out var second));
        Assert.Equal([10, 20], new[] { first.Length, second.Length });
    }

    [Fact]
    public async Task A_graceful_close_during_a_direct_write_still_hands_the_writer_what_is_queued()
    {
        var queue = new OutboundQueue(10_000, SlowConsumerPolicy.Disconnect);
        var wait = queue.WaitAsync();
        Assert.True(queue.TryBeginDirect());
        queue.Enqueue(Frame(30)); // e.g. a reconnect frame right before the close

        queue.Complete(discardPending: false);
        Assert.True(await wait);
        Assert.True(queue.TryDequeue(out var frame));
        Assert.Equal(30, frame.Length);
        queue.EndDirect();

        Assert.False(await queue.WaitAsync());
        Assert.False(queue.TryBeginDirect());
    }

    private static OutboundFrame Frame(int length) => OutboundFrame.Create(length, 1, isMessage: true);
}
