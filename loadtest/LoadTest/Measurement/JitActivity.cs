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

    // CPU seconds per (process, thread) at the last sample. The runtime ends an idle worker after
    // a few seconds and starts a new one (from 0) when there is work again, so totals per process
    // could go down: each thread's own change is what counts.
    private readonly Dictionary<(int Pid, int Tid), double> _last = [];

    /// <summary>This process and, if given, the server's.</summary>
    public static JitActivity ForToolAnd(int? serverPid) =>
        new(serverPid is { } pid && pid != Environment.ProcessId ? [Environment.ProcessId, pid] : [Environment.ProcessId]);

    /// <summary>Processes whose threads could not be listed at the last sample (gone, or not ours to read).</summary>
    public IReadOnlyList<int> Unreadable { get; private set; } = [];

    /// <summary>
    /// CPU seconds each process's compilation workers used since the previous call (the first call
    /// counts from each thread's start). A thread that appeared meanwhile counts from 0.
    /// </summary>
    public double[] BusySinceLastSample()
    {
        var busy = new double[pids.Count];
        var unreadable = new List<int>();
        for (var i = 0; i < pids.Count; i++)
        {
            var threads = WorkerThreads(pids[i]);
            if (threads is null)
            {
                unreadable.Add(pids[i]);
                continue;
            }

            foreach (var (tid, seconds) in threads)
            {
                busy[i] += Math.Max(0, seconds - _last.GetValueOrDefault((pids[i], tid)));
                _last[(pids[i], tid)] = seconds;
            }
        }

        Unreadable = unreadable;
        return busy;
    }

    /// <summary>CPU seconds of <paramref name="pid"/>'s tiered-compilation worker threads alive now (0 if unreadable).</summary>
    public static double WorkerCpuSeconds(int pid) => WorkerThreads(pid)?.Sum(t => t.Seconds) ?? 0;

    /// <summary>True when no process used more than <paramref name="maxBusyFraction"/> of a core compiling over <paramref name="seconds"/>.</summary>
    public static bool Quiet(double[] busy, double seconds, double maxBusyFraction) =>
        busy.All(b => b <= (maxBusyFraction * seconds) + 1e-6); // /proc's ticks are 0.01 s: 1.02 - 1.00 is 0.0200000…2

    /// <summary>(thread id, CPU seconds) of each compilation worker of <paramref name="pid"/>; null if its threads can't be listed.</summary>
    private static List<(int Tid, double Seconds)>? WorkerThreads(int pid)
    {
        string[] tasks;
        try
        {
            tasks = Directory.GetDirectories($"/proc/{pid}/task");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        var workers = new List<(int, double)>();
        foreach (var task in tasks)
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
                var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
                workers.Add((int.Parse(Path.GetFileName(task), CultureInfo.InvariantCulture), ticks / TicksPerSecond));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
            {
                // The thread ended between listing and reading.
            }
        }

        return workers;
    }
}
