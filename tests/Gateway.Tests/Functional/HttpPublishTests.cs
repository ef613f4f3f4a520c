using System.Net;
using System.Text;
using System.Text.Json;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.Tests.Functional;

[Collection(NatsCollection.Name)]
public sealed class HttpPublishTests(NatsFixture nats)
{
    public static TheoryData<string, string, HttpStatusCode, string> BadRequests => new()
    {
        { "bad%20topic", "{}", HttpStatusCode.BadRequest, "bad_topic" },
        { "a..b", "{}", HttpStatusCode.BadRequest, "bad_topic" },
        { "a.*", "{}", HttpStatusCode.BadRequest, "bad_topic" },
        { "a.>", "{}", HttpStatusCode.BadRequest, "bad_topic" },
        { string.Join('.', Enumerable.Repeat("t", 17)), "{}", HttpStatusCode.BadRequest, "bad_topic" },
        { "a.b", "not json", HttpStatusCode.BadRequest, "bad_request" },
        { "a.b", "", HttpStatusCode.BadRequest, "bad_request" },
        { "a.b", "{\"a\":1}{\"b\":2}", HttpStatusCode.BadRequest, "bad_request" },
        { "a.b", "\"" + new string('x', 5000) + "\"", HttpStatusCode.RequestEntityTooLarge, "too_large" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_publish_gets_a_JSON_error(string topic, string body, HttpStatusCode status, string code)
    {
        await using var node = await GatewayNode.StartAsync(nats.Server.Url, "--Gateway:Limits:MaxPayloadBytes", "4096");

        var response = await node.Http.PostAsync($"/api/v1/publish/{topic}", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(status, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Chunked_body_over_the_limit_is_refused()
    {
        await using var node = await GatewayNode.StartAsync(null, "--Gateway:Limits:MaxPayloadBytes", "1024");
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes("\"" + new string('x', 100_000) + "\"")));
        content.Headers.ContentType = new("application/json");
        content.Headers.ContentLength = null;

        var response = await node.Http.PostAsync("/api/v1/publish/a.b", content);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }
}
