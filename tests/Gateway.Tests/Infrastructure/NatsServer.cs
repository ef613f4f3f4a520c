using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace PubSubGateway.Tests.Infrastructure;

/// <summary>
/// A real <c>nats-server</c> (Debian package) on free loopback ports with JetStream in a temporary
/// store directory. Can be killed and restarted on the same ports; stopped by PID on dispose.
/// </summary>
public sealed class NatsServer : IAsyncDisposable
{
    private readonly string _storeDir = Directory.CreateTempSubdirectory("nats-test-").FullName;
    private Process? _process;

    private NatsServer()
    {
        Port = FreePort.Next();
        MonitorPort = FreePort.Next();
    }

    public int Port { get; }

    public int MonitorPort { get; }

    public string Url => $"nats://127.0.0.1:{Port}";

    public static async Task<NatsServer> StartAsync()
    {
        var server = new NatsServer();
        await server.StartProcessAsync();
        return server;
    }

    public async Task StartProcessAsync()
    {
        var info = new ProcessStartInfo("nats-server")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-js", "-a", "127.0.0.1", "-p", Port.ToString(), "-m", MonitorPort.ToString(), "-sd", _storeDir })
        {
            info.ArgumentList.Add(arg);
        }

        _process = Process.Start(info) ?? throw new InvalidOperationException("nats-server did not start");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", Port);
                using var http = new HttpClient();
                (await http.GetAsync($"http://127.0.0.1:{MonitorPort}/healthz")).EnsureSuccessStatusCode();
                return;
            }
            catch (Exception) when (!_process.HasExited)
            {
                await Task.Delay(50);
            }
        }

        throw new InvalidOperationException($"nats-server on port {Port} did not become ready");
    }

    /// <summary>SIGKILL, like a crashed broker.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>Subscriptions on this server, per client connection name, from the monitoring endpoint.</summary>
    public async Task<IReadOnlyList<string>> SubscriptionsOfAsync(string connectionName)
    {
        using var http = new HttpClient();
        var connz = await http.GetFromJsonAsync<JsonElement>($"http://127.0.0.1:{MonitorPort}/connz?subs=1&limit=1024");
        var subs = new List<string>();
        foreach (var connection in connz.GetProperty("connections").EnumerateArray())
        {
            if (connection.TryGetProperty("name", out var name) && name.GetString() == connectionName &&
                connection.TryGetProperty("subscriptions_list", out var list))
            {
                subs.AddRange(list.EnumerateArray().Select(s => s.GetString()!));
            }
        }

        return subs;
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        try
        {
            Directory.Delete(_storeDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
