using System.Diagnostics;

namespace PubSubGateway.ControlPlane.Tests.Infrastructure;

/// <summary>A gateway node as a real child process (<c>dotnet Gateway.dll</c>), so a test can kill -9 it by PID.</summary>
public sealed class GatewayProcess : IAsyncDisposable
{
    private readonly Process _process;

    private GatewayProcess(Process process, string nodeId, int port)
    {
        _process = process;
        NodeId = nodeId;
        BaseUrl = $"http://127.0.0.1:{port}";
    }

    public string NodeId { get; }

    public string BaseUrl { get; }

    public static async Task<GatewayProcess> StartAsync(string natsUrl, params string[] settings)
    {
        var nodeId = "proc-" + Guid.NewGuid().ToString("N")[..8];
        var port = FreePort.Next();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Gateway.dll"));
        foreach (var arg in new[] { "--urls", $"http://127.0.0.1:{port}", "--Gateway:NodeId", nodeId, "--Nats:Url", natsUrl, "--Logging:LogLevel:Default", "Warning" }.Concat(settings))
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("gateway did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var node = new GatewayProcess(process, nodeId, port);
        using var http = new HttpClient();
        await WaitFor.ConditionAsync(async () =>
        {
            Assert.False(process.HasExited, "gateway process exited");
            try
            {
                return (await http.GetAsync(node.BaseUrl + "/healthz/ready")).IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "gateway process ready");
        return node;
    }

    /// <summary>SIGKILL: no drain, no deregistration, sockets reset.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
