using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace PubSubGateway.LoadTest.Tests.Infrastructure;

/// <summary>
/// A real <c>nats-server</c> (Debian package) on free loopback ports, optionally with its WebSocket
/// listener (the load tool's peer target) or JetStream (temporary store, removed on dispose); killed
/// by PID on dispose.
/// </summary>
public sealed class LocalNatsServer : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string? _configFile;
    private readonly string? _storeDir;

    private LocalNatsServer(Process process, int port, int? webSocketPort, string? configFile, string? storeDir)
    {
        _process = process;
        _configFile = configFile;
        _storeDir = storeDir;
        Url = $"nats://127.0.0.1:{port}";
        WebSocketUrl = webSocketPort is null ? null : $"ws://127.0.0.1:{webSocketPort}/";
    }

    public string Url { get; }

    public string? WebSocketUrl { get; }

    public static async Task<LocalNatsServer> StartAsync(bool webSocket = false, bool jetStream = false)
    {
        var port = FreePort();
        int? webSocketPort = webSocket ? FreePort() : null;
        string? configFile = null;
        var storeDir = jetStream ? Directory.CreateTempSubdirectory("nats-js-").FullName : null;
        var info = new ProcessStartInfo("nats-server") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (webSocket)
        {
            configFile = Path.Combine(Path.GetTempPath(), $"nats-ws-{Guid.NewGuid():N}.conf");
            await File.WriteAllTextAsync(configFile, $"listen: 127.0.0.1:{port}\nwebsocket {{ host: 127.0.0.1, port: {webSocketPort}, no_tls: true }}\n");
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add(configFile);
        }
        else
        {
            foreach (var arg in new[] { "-a", "127.0.0.1", "-p", port.ToString(), "-m", FreePort().ToString() })
            {
                info.ArgumentList.Add(arg);
            }
        }

        if (storeDir is not null)
        {
            foreach (var arg in new[] { "-js", "-sd", storeDir })
            {
                info.ArgumentList.Add(arg);
            }
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("nats-server did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var server = new LocalNatsServer(process, port, webSocketPort, configFile, storeDir);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                if (webSocketPort is { } ws)
                {
                    using var wsProbe = new TcpClient();
                    await wsProbe.ConnectAsync(IPAddress.Loopback, ws);
                }

                return server;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline && !process.HasExited)
            {
                await Task.Delay(50);
            }
            catch
            {
                await server.DisposeAsync();
                throw;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        if (_configFile is not null)
        {
            File.Delete(_configFile);
        }

        if (_storeDir is not null)
        {
            Directory.Delete(_storeDir, recursive: true);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
