using System.Globalization;

namespace PubSubGateway.LoadTest.Measurement;

/// <summary>
/// CPU time of the .NET tiered-compilation worker threads (thread name <c>.NET Tiered Com…</c>) of
/// this process and of the server under test, from <c>/proc/&lt;pid&gt;/task/*/stat</c>. A .NET
/// process under new load keeps re-compiling its hot methods for seconds: on the 2-core benchmark
/// machine, at 1 M deliveries/s, the gateway's worker used 10–40 % of a core for about 6 s and the
/// tool's own up to 24 %, and every run whose measured window began inside that time had a p99 of
/// 100–1,000 ms in its first seconds (BENCHMARKS.md). A process with no such thread (nats-server)
/// counts as quiet.
/// </summary>
internal sealed class JitActivity(IReadOnlyList<int> pids)
{
    // USER_HZ: /proc reports CPU time in clock ticks of 1/100 s on every Linux x86-64/arm64 kernel.
    private const double TicksPerSecond = 100;

    private const string WorkerName = ".NET Tiered Com";

    /// <summary>This process and, if given, the server's.</summary>
    public static JitActivity ForToolAnd(int? serverPid) =>
        new(serverPid is { } pid && pid != Environment.ProcessId ? [Environment.ProcessId, pid] : [Environment.ProcessId]);

    /// <summary>CPU seconds the compilation workers of each process have used so far (0 where unreadable).</summary>
    public double[] Sample() => pids.Select(WorkerCpuSeconds).ToArray();

    /// <summary>CPU seconds of <paramref name="pid"/>'s tiered-compilation worker threads.</summary>
    public static double WorkerCpuSeconds(int pid)
    {
        double total = 0;
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                try
                {
                    if (!File.ReadAllText(Path.Combine(task, "comm")).StartsWith(WorkerName, StringComparison.Ordinal))
                    {
                        continue;
                    }

                    var stat = File.ReadAllText(Path.Combine(task, "stat"));
                    // Fields after the parenthesised thread name; utime and stime are fields 14 and 15.
                    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                    total += (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) / TicksPerSecond;
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
                {
                    // The thread ended between listing and reading.
                }
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }

        return total;
    }

    /// <summary>
    /// True when no process used more than <paramref name="maxBusyFraction"/> of a core for compiling
    /// between two samples taken <paramref name="seconds"/> apart.
    /// </summary>
    public static bool Quiet(double[] before, double[] after, double seconds, double maxBusyFraction) =>
        before.Zip(after).All(p => p.Second - p.First <= (maxBusyFraction * seconds) + 1e-6); // /proc's ticks are 0.01 s: 1.02 - 1.00 is 0.0200000…2
}
