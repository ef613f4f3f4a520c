using System.Diagnostics;
using Microsoft.Extensions.Options;
using PubSubGateway.Tests.Infrastructure;

namespace PubSubGateway.Tests.Functional;

public sealed class ConfigurationTests
{
    [Fact]
    public async Task Every_bad_setting_is_reported_at_once_naming_its_key()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => GatewayNode.StartAsync(null,
            "--Gateway:Limits:MaxFrameBytes", "10",
            "--Gateway:Limits:MaxTopicTokens", "40",
            "--Gateway:Heartbeat:IntervalMs", "0",
            "--Gateway:SubjectPrefix", "bad prefix"));

        Assert.Contains(ex.Failures, f => f.Contains("Gateway:Limits:MaxFrameBytes"));
        Assert.Contains(ex.Failures, f => f.Contains("Gateway:Limits:MaxTopicTokens"));
        Assert.Contains(ex.Failures, f => f.Contains("Gateway:Heartbeat:IntervalMs"));
        Assert.Contains(ex.Failures, f => f.Contains("Gateway:SubjectPrefix"));
    }

    [Fact]
    public async Task Bad_NATS_url_is_refused()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => GatewayNode.StartAsync("http://127.0.0.1:1"));
        Assert.Contains(ex.Failures, f => f.Contains("Nats:Url"));
    }

    [Theory]
    [InlineData("--Gateway:Limits:MaxConnections", "0", "Gateway:Limits:MaxConnections")]
    [InlineData("--Gateway:Limits:MaxConnections", "lots", "Gateway:Limits:MaxConnections")]
    [InlineData("--Gateway:Outbound:SlowConsumerPolicy", "Ignore", "Gateway:Outbound:SlowConsumerPolicy")]
    [InlineData("--Gateway:Outbound:DirectWriteMaxSubscribers", "-1", "Gateway:Outbound:DirectWriteMaxSubscribers")]
    public async Task The_process_stops_with_exit_code_2_and_names_the_key(string key, string value, string expected)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardError = true, RedirectStandardOutput = true };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Gateway.dll"));
        foreach (var arg in new[] { "--urls", "http://127.0.0.1:0", key, value })
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }

        Assert.Equal(2, process.ExitCode);
        Assert.Contains(expected, await stderr + await stdout);
    }
}
