using System.Collections.Concurrent;
using System.Diagnostics;
using HdrHistogram;

namespace PubSubGateway.LoadTest.Measurement;

/// <summary>The three windows of a drain run, by the time a message is received.</summary>
internal enum DrainPhase
{
    /// <summary>Publishing, nothing drained yet.</summary>
    Before = 0,

    /// <summary>From the drain request until the node reports <c>drained</c>.</summary>
    During = 1,

    /// <summary>From <c>drained</c> until publishing stops and the last message has arrived.</summary>
    After = 2,
}

/// <summary>
/// What the resuming clients of a drain run record: end-to-end latency per <see cref="DrainPhase"/>,
/// when each <c>reconnect</c> frame arrived and when each client was subscribed again (for the
/// reconnects-per-second buckets), and how long moving took.
/// </summary>
internal sealed class DrainTimeline
{
    private readonly LatencyRecorder[] _latency;
    private readonly ConcurrentQueue<long> _reconnectFrames = new();
    private readonly ConcurrentQueue<long> _resubscribed = new();
    private readonly LongHistogram _gap = new(300_000_000, 3);
    private readonly LongHistogram _connectToAck = new(300_000_000, 3);
    private readonly LongHistogram _subToAck = new(300_000_000, 3);
    private readonly Lock _lock = new();
    private volatile int _phase;

    public DrainTimeline(int stripes) =>
        _latency = [new LatencyRecorder(stripes), new LatencyRecorder(stripes), new LatencyRecorder(stripes)];

    public DrainPhase Phase => (DrainPhase)_phase;

    public LatencyRecorder Current => _latency[_phase];

    public LatencyRecorder Latency(DrainPhase phase) => _latency[(int)phase];

    public void Enter(DrainPhase phase) => _phase = (int)phase;

    public void RecordLatency(int stripe, long ticks) => _latency[_phase].Record(stripe, ticks);

    public void RecordReconnectFrame(long timestamp) => _reconnectFrames.Enqueue(timestamp);

    /// <param name="left">When the client learnt it had to move (reconnect frame, or the drop).</param>
    /// <param name="connectStarted">When the attempt that succeeded opened its socket.</param>
    /// <param name="subSent">When the <c>sub</c> (with <c>since</c>) was sent, after <c>hello</c>.</param>
    /// <param name="acked">When the <c>sub</c> on the new node was acknowledged.</param>
    public void RecordResubscribed(long left, long connectStarted, long subSent, long acked)
    {
        _resubscribed.Enqueue(acked);
        lock (_lock)
        {
            _gap.RecordValue(Micros(acked - left));
            _connectToAck.RecordValue(Micros(acked - connectStarted));
            _subToAck.RecordValue(Micros(acked - subSent));
        }
    }

    public int ReconnectFramesSoFar => _reconnectFrames.Count;

    public int ResubscribedSoFar => _resubscribed.Count;

    /// <summary>Reconnect frame → subscribed again on another node (includes the <c>after_ms</c> wait).</summary>
    public LongHistogram Gap()
    {
        lock (_lock)
        {
            return (LongHistogram)_gap.Copy();
        }
    }

    /// <summary>Socket connect (through the router) → <c>sub</c> acknowledged, for the attempt that succeeded.</summary>
    public LongHistogram ConnectToAck()
    {
        lock (_lock)
        {
            return (LongHistogram)_connectToAck.Copy();
        }
    }

    /// <summary><c>sub</c> with <c>since</c> sent → acknowledged: the node's resume work (history check, live feed) without the connect.</summary>
    public LongHistogram SubToAck()
    {
        lock (_lock)
        {
            return (LongHistogram)_subToAck.Copy();
        }
    }

    /// <summary>Clients subscribed again, per whole second since <paramref name="origin"/> (events before it are left out).</summary>
    public int[] ResubscribedPerSecond(long origin) => PerSecond(_resubscribed, origin);

    public int[] ReconnectFramesPerSecond(long origin) => PerSecond(_reconnectFrames, origin);

    private static int[] PerSecond(IEnumerable<long> timestamps, long origin)
    {
        var seconds = timestamps.Where(t => t >= origin).Select(t => (int)((t - origin) / Stopwatch.Frequency)).ToList();
        var buckets = new int[seconds.Count == 0 ? 0 : seconds.Max() + 1];
        foreach (var s in seconds)
        {
            buckets[s]++;
        }

        return buckets;
    }

    private static long Micros(long ticks) => Math.Clamp(ticks * 1_000_000 / Stopwatch.Frequency, 1, 300_000_000);
}
