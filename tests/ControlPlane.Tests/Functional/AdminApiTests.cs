using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using PubSubGateway.ControlPlane.Tests.Infrastructure;

namespace PubSubGateway.ControlPlane.Tests.Functional;

[Collection(NatsCollection.Name)]
public sealed class AdminApiTests(NatsFixture nats)
{
    [Fact]
    public async Task Bad_admin_requests_get_the_documented_errors()
    {
        var bucket = ClusterSettings.NewBucket();
        await using var a = await GatewayNode.StartAsync(nats.Server.Url, ClusterSettings.Node(bucket));
        await using var cp = await ControlPlaneHost.StartAsync(nats.Server.Url, bucket);
        await cp.WaitForNodesAsync([a.NodeId]);
        using var anonymous = new HttpClient { BaseAddress = new Uri(cp.BaseUrl) };
        using var wrong = new HttpClient { BaseAddress = new Uri(cp.BaseUrl) };
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-admin-token");

        await AssertError(await anonymous.GetAsync("/api/v1/nodes"), HttpStatusCode.Unauthorized, "unauthorized");
        await AssertError(await wrong.GetAsync("/api/v1/nodes"), HttpStatusCode.Unauthorized, "unauthorized");
        await AssertError(await wrong.PostAsync($"/api/v1/nodes/{a.NodeId}/drain", null), HttpStatusCode.Unauthorized, "unauthorized");
        await AssertError(await anonymous.PostAsync("/api/v1/rebalance", null), HttpStatusCode.Unauthorized, "unauthorized");
        await AssertError(await cp.Http.GetAsync("/api/v1/nodes/no-such-node"), HttpStatusCode.NotFound, "not_found");
        await AssertError(await cp.PostAsync("/api/v1/nodes/no-such-node/drain", """{"deadline_ms":1000}"""), HttpStatusCode.NotFound, "not_found");
        await AssertError(await cp.PostAsync("/api/v1/nodes/no-such-node/undrain"), HttpStatusCode.NotFound, "not_found");
        foreach (var body in new[] { """{"deadline_ms":-1}""", """{"deadline_ms":0}""", """{"deadline_ms":"soon"}""", """{"deadline_ms":1.5}""", """{"deadline_ms":99999999}""", """{"deadline":1000}""", "[1]", "{not json" })
        {
            await AssertError(await cp.PostAsync($"/api/v1/nodes/{a.NodeId}/drain", body), HttpStatusCode.BadRequest, "bad_request");
        }

        await AssertError(await cp.PostAsync($"/api/v1/nodes/{a.NodeId}/undrain"), HttpStatusCode.Conflict, "wrong_state");
        Assert.Equal("active", await cp.StateOfAsync(a.NodeId)); // none of the bad requests reached the node

        Assert.Equal(HttpStatusCode.Accepted, (await cp.PostAsync($"/api/v1/nodes/{a.NodeId}/drain", """{"deadline_ms":60000}""")).StatusCode);
        await AssertError(await cp.PostAsync($"/api/v1/nodes/{a.NodeId}/drain"), HttpStatusCode.Conflict, "wrong_state");
        await DrainTests.WaitForStateAsync(cp, a.NodeId, "drained");
        await AssertError(await cp.PostAsync($"/api/v1/nodes/{a.NodeId}/drain"), HttpStatusCode.Conflict, "wrong_state");

        // The readable endpoints, with the token.
        var node = await cp.Http.GetFromJsonAsync<JsonElement>($"/api/v1/nodes/{a.NodeId}");
        Assert.Equal(a.BaseUrl, node.GetProperty("url").GetString());
        Assert.Equal("0.1.0", node.GetProperty("version").GetString());
        Assert.True(node.GetProperty("started_at").GetDateTimeOffset() <= DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Without_a_token_the_admin_api_serves_loopback_callers()
    {
        var bucket = ClusterSettings.NewBucket();
        await using var cp = await ControlPlaneHost.StartAsync(nats.Server.Url, bucket, "--ControlPlane:AdminToken", "");
        using var anonymous = new HttpClient { BaseAddress = new Uri(cp.BaseUrl) };

        var response = await anonymous.GetAsync("/api/v1/nodes");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task A_bad_setting_stops_the_control_plane_naming_the_key()
    {
        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() =>
            ControlPlaneHost.StartAsync(nats.Server.Url, "bad bucket!", "--ControlPlane:NodeTtlMs", "5", "--ControlPlane:AdminToken", "short"));

        Assert.Contains(error.Failures, f => f.Contains("ControlPlane:Bucket"));
        Assert.Contains(error.Failures, f => f.Contains("ControlPlane:NodeTtlMs"));
        Assert.Contains(error.Failures, f => f.Contains("ControlPlane:AdminToken"));
    }

    private static async Task AssertError(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: expected {status}, got {response.StatusCode}: {text}");
        using var body = JsonDocument.Parse(text);
        Assert.Equal(code, body.RootElement.GetProperty("error").GetString());
        Assert.False(string.IsNullOrEmpty(body.RootElement.GetProperty("message").GetString()));
    }
}
