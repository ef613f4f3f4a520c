using System.Net.Http.Headers;

namespace PubSubGateway.LoadTest.Publishing;

/// <summary>Publishes through the gateway's <c>POST /api/v1/publish/{topic}</c> (one request at a time).</summary>
internal sealed class HttpBenchPublisher(Uri baseUri) : IBenchPublisher
{
    private static readonly MediaTypeHeaderValue Json = new("application/json");
    private readonly HttpClient _http = new() { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(10) };

    public string Kind => "http";

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask PublishAsync(string topic, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        using var content = new ByteArrayContent(payload.ToArray());
        content.Headers.ContentType = Json;
        using var response = await _http.PostAsync(new Uri("api/v1/publish/" + topic, UriKind.Relative), content, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    public Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
