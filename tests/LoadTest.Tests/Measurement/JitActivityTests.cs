using PubSubGateway.LoadTest.Measurement;

namespace PubSubGateway.LoadTest.Tests.Measurement;

/// <summary>Reading the tiered-compilation workers' CPU from /proc, as the open-ended warm-up does.</summary>
public sealed class JitActivityTests
{
    [Fact]
    public void This_runtime_names_its_compilation_worker_as_the_warmup_expects()
    {
        // If a runtime renamed the thread, every warm-up would count as quiet at once: this catches it.
        var names = Directory.EnumerateDirectories("/proc/self/task")
            .Select(task => File.ReadAllText(Path.Combine(task, "comm")).Trim())
            .ToList();

        Assert.Contains(names, n => n.StartsWith(".NET Tiered Com", StringComparison.Ordinal));
        Assert.True(JitActivity.WorkerCpuSeconds(Environment.ProcessId) >= 0);
    }

    [Fact]
    public void A_process_that_is_gone_or_has_no_worker_counts_as_idle()
    {
        Assert.Equal(0, JitActivity.WorkerCpuSeconds(int.MaxValue));
        using var sleeper = System.Diagnostics.Process.Start("sleep", "5");
        Assert.Equal(0, JitActivity.WorkerCpuSeconds(sleeper.Id));
        sleeper.Kill();
    }

    [Fact]
    public void A_process_whose_threads_cannot_be_read_is_reported()
    {
        var jit = new JitActivity([Environment.ProcessId, int.MaxValue]);

        var busy = jit.BusySinceLastSample();

        Assert.Equal(2, busy.Length);
        Assert.True(busy[0] >= 0);
        Assert.Equal(0, busy[1]);
        Assert.Equal([int.MaxValue], jit.Unreadable);
    }

    [Theory]
    [InlineData(new[] { 0.02, 0.00 }, 1.0, true)]
    [InlineData(new[] { 0.00, 0.03 }, 1.0, false)]
    [InlineData(new[] { 0.05 }, 2.5, true)]
    [InlineData(new[] { 0.30 }, 1.0, false)]
    public void Quiet_means_no_process_compiled_more_than_the_allowed_share_of_a_core(double[] busy, double seconds, bool quiet) =>
        Assert.Equal(quiet, JitActivity.Quiet(busy, seconds, maxBusyFraction: 0.02));
}
