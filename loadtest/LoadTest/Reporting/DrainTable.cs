using System.Globalization;
using System.Text;

namespace PubSubGateway.LoadTest.Reporting;

/// <summary>
/// Drain results as Markdown: one row per configuration (clients, topics, rate, durable), each cell
/// the median over its runs; then, per run, the node counts before and after and the reconnects per second.
/// </summary>
internal static class DrainTable
{
    private static readonly (string Header, Func<DrainResult, double> Value, string Format)[] Columns =
    [
        ("on drained node", r => r.ClientsOnDrainedNode, "N0"),
        ("to drained s", r => r.SecondsToDrained ?? double.NaN, "0.00"),
        ("to 0 conns s", r => r.SecondsToZeroConnections ?? double.NaN, "0.00"),
        ("last moved s", r => r.SecondsToLastClientMoved ?? double.NaN, "0.00"),
        ("max reconnect frames/s", r => r.MaxReconnectFramesPerSecond, "N0"),
        ("max reconnects/s", r => r.MaxReconnectsPerSecond, "N0"),
        ("reconnects", r => r.Reconnects, "N0"),
        ("drops", r => r.Drops, "N0"),
        ("failed attempts", r => r.FailedAttempts, "N0"),
        ("lost", r => r.Lost, "N0"),
        ("dup", r => r.Duplicates, "N0"),
        ("gap p50 ms", r => r.ReconnectGap.P50Ms, "0"),
        ("gap p99 ms", r => r.ReconnectGap.P99Ms, "0"),
        ("connect→ack p50 ms", r => r.ReconnectConnectToAck.P50Ms, "0"),
        ("sub→ack p50 ms", r => r.ReconnectSubToAck.P50Ms, "0"),
        ("p99 before ms", r => r.LatencyBefore.P99Ms, "0.0"),
        ("p50 during ms", r => r.LatencyDuring.P50Ms, "0.0"),
        ("p99 during ms", r => r.LatencyDuring.P99Ms, "0.0"),
        ("max during ms", r => r.LatencyDuring.MaxMs, "0"),
        ("p99 after ms", r => r.LatencyAfter.P99Ms, "0.0"),
        ("load avg", r => r.LoadAverageAfter, "0.0"),
    ];

    public static string Render(IReadOnlyList<DrainResult> results)
    {
        var text = new StringBuilder();
        text.Append("| clients | topics | msg/s | durable | runs | ").AppendJoin(" | ", Columns.Select(c => c.Header)).Append(" |\n");
        text.Append("|---:|---:|---:|---|---:|").Append(string.Concat(Columns.Select(_ => "---:|"))).Append('\n');
        foreach (var group in results.GroupBy(r => (r.Subscribers, r.Topics, r.TargetRate, r.Durable)).OrderBy(g => g.Key.Subscribers).ThenBy(g => g.Key.TargetRate))
        {
            var runs = group.ToList();
            text.Append(CultureInfo.InvariantCulture, $"| {group.Key.Subscribers:N0} | {group.Key.Topics:N0} | {group.Key.TargetRate:N0} | {(group.Key.Durable ? "yes" : "no")} | {runs.Count} |");
            foreach (var column in Columns)
            {
                var value = MarkdownTable.Median(runs.Select(column.Value));
                text.Append(' ').Append(double.IsNaN(value) ? "–" : value.ToString(column.Format, CultureInfo.InvariantCulture)).Append(" |");
            }

            text.Append('\n');
        }

        text.Append('\n');
        foreach (var r in results)
        {
            text.Append(CultureInfo.InvariantCulture, $"- {r.StartedUtc:u}{(r.Label is null ? "" : " " + r.Label)}: drained {r.DrainedNode} ({r.ClientsOnDrainedNode:N0} clients; moved {r.ClientsMoved:N0}, left behind {r.ClientsLeftBehind:N0}); ")
                .Append("before ").Append(Nodes(r.NodesBefore)).Append("; after ").Append(Nodes(r.NodesAfter)).Append("; ")
                .Append(CultureInfo.InvariantCulture, $"reconnects per second from the drain request [{string.Join(", ", r.ReconnectsPerSecond)}]; ")
                .Append(CultureInfo.InvariantCulture, $"{r.Delivered:N0}/{r.ExpectedDeliveries:N0} delivered, lost {r.Lost:N0} ({r.ClientsWithLoss:N0} clients), dup {r.Duplicates:N0}, out of order {r.OutOfOrder:N0}, seq regressions {r.StreamSeqRegressions:N0}, wrong-topic frames {r.WrongTopicFrames:N0}, bounces {r.Bounces:N0}, history_gone {r.HistoryGone:N0}, cursor mismatches {r.CursorMismatches:N0}")
                .Append(r.DrainRequestTimeouts == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $"; the drain request got {r.DrainRequestTimeouts} × 504 first"))
                .Append(r.FirstError is null ? "" : "; first error: " + r.FirstError)
                .Append(r.AllDelivered ? "" : " (NOT every message delivered before the timeout)")
                .Append('\n');
        }

        return text.ToString();
    }

    private static string Nodes(IEnumerable<NodeCount> nodes) =>
        string.Join(" / ", nodes.Select(n => string.Create(CultureInfo.InvariantCulture, $"{n.Node} {n.RegistryConnections:N0}{(n.State == "active" ? "" : " " + n.State)}")));
}
