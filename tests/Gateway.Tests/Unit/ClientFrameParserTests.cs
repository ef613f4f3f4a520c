using System.Text;
using PubSubGateway.Protocol;

namespace PubSubGateway.Tests.Unit;

public sealed class ClientFrameParserTests
{
    [Fact]
    public void Locates_the_raw_data_bytes_in_any_field_order()
    {
        var json = """{"data":{"x":[1,"}"]},"topic":"a.b","op":"pub","id":"7","extra":{"ignored":true}}""";
        var bytes = Encoding.UTF8.GetBytes(json);

        var result = ClientFrameParser.Parse(bytes);

        Assert.True(result.Ok, result.ErrorMessage);
        Assert.Equal(ClientOp.Pub, result.Frame.Op);
        Assert.Equal("7", result.Frame.Id);
        Assert.Equal("a.b", result.Frame.Topic);
        Assert.Equal("""{"x":[1,"}"]}""", Encoding.UTF8.GetString(bytes, result.Frame.DataStart, result.Frame.DataLength));
    }

    [Theory]
    [InlineData("""{"op":"pub","topic":"a","data":"s"}""", "\"s\"")]
    [InlineData("""{"op":"pub","topic":"a","data":12.5e3}""", "12.5e3")]
    [InlineData("""{"op":"pub","topic":"a","data":null}""", "null")]
    [InlineData("""{"op":"pub","topic":"a","data": [ ] }""", "[ ]")]
    public void Data_may_be_any_JSON_value(string json, string data)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var result = ClientFrameParser.Parse(bytes);
        Assert.True(result.Ok);
        Assert.Equal(data, Encoding.UTF8.GetString(bytes, result.Frame.DataStart, result.Frame.DataLength));
    }

    [Fact]
    public void Reads_since_and_keeps_the_id_on_errors()
    {
        var ok = ClientFrameParser.Parse("""{"op":"sub","id":"1","topic":"a","since":42}"""u8);
        Assert.Equal(42, ok.Frame.Since);

        var bad = ClientFrameParser.Parse("""{"op":"sub","id":"9","topic":"a","since":"x"}"""u8);
        Assert.False(bad.Ok);
        Assert.Equal("9", bad.Frame.Id);
        Assert.Equal(ErrorCodes.BadRequest, bad.ErrorCode);
    }

    [Fact]
    public void Refuses_overlong_ids()
    {
        var result = ClientFrameParser.Parse(Encoding.UTF8.GetBytes($"{{\"op\":\"ping\",\"id\":\"{new string('i', 500)}\"}}"));
        Assert.False(result.Ok);
        Assert.Null(result.Frame.Id);
    }

    /// <summary>Fuzzing findings (tests/Gateway.Fuzz/regressions): valid JSON syntax, invalid text.</summary>
    [Theory]
    [InlineData("{\"\\udc00\":1}")]
    [InlineData("{\"op\":\"\\ud800\"}")]
    [InlineData("{\"op\":\"ping\",\"id\":\"\\udfff\"}")]
    [InlineData("{\"op\":\"sub\",\"topic\":\"a\\ud800b\"}")]
    public void Unpaired_surrogate_escapes_are_a_bad_request_not_an_exception(string json)
    {
        var result = ClientFrameParser.Parse(Encoding.UTF8.GetBytes(json));
        Assert.False(result.Ok);
        Assert.Equal(ErrorCodes.BadRequest, result.ErrorCode);
    }

    [Fact]
    public void Invalid_utf8_inside_a_string_is_a_bad_request_not_an_exception()
    {
        byte[] frame = [.. "{\"op\":\""u8, 0xC3, 0x28, .. "\"}"u8];
        Assert.Equal(ErrorCodes.BadRequest, ClientFrameParser.Parse(frame).ErrorCode);
    }

    [Theory]
    [InlineData("{\"a\":1}")]
    [InlineData("[1,2]")]
    [InlineData("\"x\"")]
    [InlineData("  true ")]
    public void JsonPayload_accepts_one_value(string json) => Assert.True(JsonPayload.IsValid(Encoding.UTF8.GetBytes(json)));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("{")]
    [InlineData("{} {}")]
    [InlineData("nope")]
    [InlineData("{'a':1}")]
    public void JsonPayload_refuses_anything_else(string json) => Assert.False(JsonPayload.IsValid(Encoding.UTF8.GetBytes(json)));
}
