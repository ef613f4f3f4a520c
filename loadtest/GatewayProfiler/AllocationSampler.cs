using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Text;

namespace PubSubGateway.GatewayProfiler;

/// <summary>Counts the runtime's GC AllocationTick events by allocated type (keyword GC, verbose).</summary>
internal sealed class AllocationSampler : EventListener
{
    private const EventKeywords GcKeyword = (EventKeywords)0x1;
    private readonly ConcurrentDictionary<string, (long Ticks, long Bytes)> _types = new(StringComparer.Ordinal);

    public void Reset() => _types.Clear();

    public string Report()
    {
        var rows = _types.OrderByDescending(t => t.Value.Bytes).Take(40).ToList();
        var total = _types.Values.Sum(v => v.Bytes);
        var text = new StringBuilder().Append(CultureInfo.InvariantCulture, $"allocation samples (~100 KB each), total sampled {total / 1024.0 / 1024.0:0.0} MiB\n");
        foreach (var (type, (ticks, bytes)) in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"{bytes * 100.0 / Math.Max(1, total),6:0.0}%  {ticks,7}  {type}\n");
        }

        return text.ToString();
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.PayloadNames is null)
        {
            return;
        }

        var typeIndex = eventData.PayloadNames.IndexOf("TypeName");
        var amountIndex = eventData.PayloadNames.IndexOf("AllocationAmount64");
        if (typeIndex < 0 || eventData.Payload is null)
        {
            return;
        }

        var type = eventData.Payload[typeIndex] as string ?? "?";
        var amount = amountIndex >= 0 && eventData.Payload[amountIndex] is ulong a ? (long)a : 100_000;
        _types.AddOrUpdate(type, (1, amount), (_, v) => (v.Ticks + 1, v.Bytes + amount));
    }
}
