using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace PubSubGateway.LoadTest.Control;

/// <summary>A gateway node as the control plane's admin API lists it.</summary>
internal sealed record NodeInfo(string Id, string Url, string State, int Connections);

/// <summary>
/// The control plane's admin API (<c>docs/control-plane.md</c>): list the nodes, read one, drain one.
/// Without <c>ControlPlane:AdminToken</c> the API answers loopback callers only; with it every call
/// carries <c>Authorization: Bearer</c>.
/// </summary>
internal sealed class ControlPlaneClient : IDisposable
{
    private readonly HttpClient _http;

    public ControlPlaneClient(Uri adminBase, string? token)
    {
        _http = new HttpClient { BaseAddress = adminBase, Timeout = TimeSpan.FromSeconds(10) };
        if (token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
    }

    public async Task<IReadOnlyList<NodeInfo>> NodesAsync(CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync("api/v1/nodes", cancellationToken);
        var body = await ReadAsync(response, "GET /api/v1/nodes", cancellationToken);
        using var doc = JsonDocument.Parse(body);
        return [.. doc.RootElement.GetProperty("nodes").EnumerateArray().Select(Read)];
    }

    /// <summary>One node, or null once the registry no longer lists it.</summary>
    public async Task<NodeInfo?> NodeAsync(string id, CancellationToken cancellationToken)
    {
        using var response = await _http.GetAsync("api/v1/nodes/" + Uri.EscapeDataString(id), cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        var body = await ReadAsync(response, $"GET /api/v1/nodes/{id}", cancellationToken);
        using var doc = JsonDocument.Parse(body);
        return Read(doc.RootElement);
    }

    /// <summary>
    /// <c>POST /api/v1/nodes/{id}/drain</c>; <paramref name="deadlineMs"/> null lets the node use its
    /// <c>Gateway:Drain:WindowMs</c>. A 504 (the node did not answer the command in time) is retried
    /// up to three times, unless the node meanwhile reports that it is draining: a busy node may have
    /// started the drain without its reply arriving. Returns the number of 504s; any other refusal throws.
    /// </summary>
    public async Task<int> DrainAsync(string id, int? deadlineMs, CancellationToken cancellationToken)
    {
        for (var timeouts = 0; ; timeouts++)
        {
            using var content = deadlineMs is { } ms ? new StringContent($"{{\"deadline_ms\":{ms}}}", Encoding.UTF8, "application/json") : null;
            using var response = await _http.PostAsync($"api/v1/nodes/{Uri.EscapeDataString(id)}/drain", content, cancellationToken);
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                return timeouts;
            }

            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.StatusCode != HttpStatusCode.GatewayTimeout || timeouts == 3)
            {
                throw new InvalidOperationException($"drain of {id} refused: {(int)response.StatusCode} {body}");
            }

            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            if (await NodeAsync(id, cancellationToken) is { State: not "active" })
            {
                return timeouts + 1;
            }
        }
    }

    public void Dispose() => _http.Dispose();

    private static async Task<string> ReadAsync(HttpResponseMessage response, string call, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            throw new InvalidOperationException($"{call}: {(int)response.StatusCode} {body} (the admin API needs --admin-token, or a loopback caller when the control plane has none)");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{call}: {(int)response.StatusCode} {body}");
        }

        return body;
    }

    private static NodeInfo Read(JsonElement node) => new(
        node.GetProperty("id").GetString()!,
        node.GetProperty("url").GetString() ?? "",
        node.GetProperty("state").GetString()!,
        node.GetProperty("connections").GetInt32());
}
