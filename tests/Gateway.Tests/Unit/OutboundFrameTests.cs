using System.Buffers.Binary;
using PubSubGateway.Protocol;

namespace PubSubGateway.Tests.Unit;

public sealed class OutboundFrameTests
{
    [Theory]
    [InlineData(0, 2)]
    [InlineData(125, 2)]
    [InlineData(126, 4)]
    [InlineData(65_535, 4)]
    [InlineData(65_536, 10)]
    [InlineData(1_000_000, 10)]
    public void Wire_is_a_final_unmasked_text_frame_with_the_payload_length(int length, int headerLength)
    {
        var frame = OutboundFrame.Create(length, 1, isMessage: true);
        Random.Shared.NextBytes(frame.Writable);
        var payload = frame.Memory.ToArray();

        var wire = frame.Wire.Span;
        Assert.Equal(headerLength + length, wire.Length);
        Assert.Equal(0x81, wire[0]);
        var declared = (wire[1] & 0x7F) switch
        {
            126 => BinaryPrimitives.ReadUInt16BigEndian(wire[2..]),
            127 => (long)BinaryPrimitives.ReadUInt64BigEndian(wire[2..]),
            var small => small,
        };
        Assert.Equal(0, wire[1] & 0x80);
        Assert.Equal(length, declared);
        Assert.True(wire[headerLength..].SequenceEqual(payload));
        frame.Release();
    }

    [Fact]
    public void Single_copies_the_bytes_behind_the_header()
    {
        var frame = OutboundFrame.Single("{\"op\":\"ack\"}"u8);
        Assert.Equal("{\"op\":\"ack\"}"u8.ToArray(), frame.Memory.ToArray());
        Assert.Equal([0x81, 12, .. "{\"op\":\"ack\"}"u8.ToArray()], frame.Wire.ToArray());
        frame.Release();
    }
}

/// <summary>
/// The frame pool is process-wide: these run alone, so no other test's fan-out takes the frames
/// they release (which would make fresh ones appear and be allocated).
/// </summary>
[Collection(nameof(FramePoolCollection))]
public sealed class OutboundFramePoolTests
{
    [Fact]
    public void Released_frames_are_reused_clean_and_creating_one_allocates_nothing_once_warm()
    {
        var seen = new HashSet<OutboundFrame>(ReferenceEqualityComparer.Instance);
        for (var i = 0; i < 2_000; i++)
        {
            // Alternate sizes and kinds so that a reused frame must take on every field anew.
            var length = i % 3 == 0 ? 300 : 40;
            var frame = OutboundFrame.Create(length, refs: 2, isMessage: i % 2 == 0);
            frame.Writable.Fill((byte)('a' + (i % 26)));
            Assert.Equal(length, frame.Length);
            Assert.Equal(i % 2 == 0, frame.IsMessage);
            Assert.Equal(length + (length < 126 ? 2 : 4), frame.Wire.Length);
            Assert.True(frame.Memory.Span.IndexOfAnyExcept((byte)('a' + (i % 26))) < 0);

            // The first release leaves the frame whole for the other holder; the second frees it.
            frame.Release();
            Assert.Equal(length, frame.Memory.Length);
            frame.Release();
            seen.Add(frame);
        }

        // A handful of instances served 2,000 messages (one stack per processor).
        Assert.InRange(seen.Count, 1, 2 * Environment.ProcessorCount);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1_000; i++)
        {
            OutboundFrame.Create(40, 1, isMessage: true).Release();
        }

        // Without the pool this was one 56-byte frame per message.
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 1024);
    }

    [Fact]
    public void Releasing_more_often_than_referenced_throws()
    {
        var frame = OutboundFrame.Create(10, refs: 1, isMessage: false);
        frame.Release();
        Assert.Throws<InvalidOperationException>(frame.Release);
    }

}

[CollectionDefinition(nameof(FramePoolCollection), DisableParallelization = true)]
public sealed class FramePoolCollection;
