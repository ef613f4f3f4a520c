using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;

namespace PubSubGateway.ControlPlane.Tests.Infrastructure;

/// <summary>
/// A real 3-node nats-server cluster with JetStream on loopback (routes between free ports, a store
/// directory per server). A server can be killed with SIGKILL by PID; everything stops on dispose.
/// </summary>
public sealed class NatsCluster : IAsyncDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("nats-cluster-").FullName;
    private readonly Process?[] _processes = new Process?[3];
    private readonly int[] _ports = [FreePort.Next(), FreePort.Next(), FreePort.Next()];
    private readonly int[] _monitorPorts = [FreePort.Next(), FreePort.Next(), FreePort.Next()];
    private readonly int[] _routePorts = [FreePort.Next(), FreePort.Next(), FreePort.Next()];

    /// <summary>All three client URLs, comma-separated, as a client that survives a server loss uses them.</summary>
    public string Url => string.Join(',', _ports.Select(p => $"nats://127.0.0.1:{p}"));

    public string UrlOf(int server) => $"nats://127.0.0.1:{_ports[server]}";

    public static async Task<NatsCluster> StartAsync()
    {
        var cluster = new NatsCluster();
        for (var i = 0; i < 3; i++)
        {
            cluster.Start(i);
        }

        await cluster.WaitForJetStreamAsync();
        return cluster;
    }

    /// <summary>SIGKILL of one server, like a crashed machine.</summary>
    public async Task KillAsync(int server)
    {
        if (_processes[server] is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        for (var i = 0; i < 3; i++)
        {
            await KillAsync(i);
            _processes[i]?.Dispose();
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private void Start(int i)
    {
        var store = Path.Combine(_dir, $"n{i}");
        var routes = string.Join(", ", Enumerable.Range(0, 3).Where(j => j != i).Select(j => $"nats-route://127.0.0.1:{_routePorts[j]}"));
        var config = Path.Combine(_dir, $"n{i}.conf");
        File.WriteAllText(config, $$"""
            server_name: n{{i}}
            listen: 127.0.0.1:{{_ports[i]}}
            http: 127.0.0.1:{{_monitorPorts[i]}}
            jetstream { store_dir: "{{store}}" }
            cluster {
              name: c
              listen: 127.0.0.1:{{_routePorts[i]}}
              routes: [{{routes}}]
            }
            """);
        var info = new ProcessStartInfo("nats-server") { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(config);
        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes[i] = process;
    }

    /// <summary>Waits until every server reports JetStream healthy with a meta leader elected.</summary>
    private async Task WaitForJetStreamAsync()
    {
        using var http = new HttpClient();
        await WaitFor.ConditionAsync(async () =>
        {
            foreach (var port in _monitorPorts)
            {
                try
                {
                    var jsz = await http.GetFromJsonAsync<JsonElement>($"http://127.0.0.1:{port}/jsz");
                    if (!jsz.TryGetProperty("meta_cluster", out var meta) || !meta.TryGetProperty("leader", out var leader) || string.IsNullOrEmpty(leader.GetString()))
                    {
                        return false;
                    }
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }

            return true;
        }, TimeSpan.FromSeconds(30), "JetStream meta leader elected on all three servers");
    }
}
