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
