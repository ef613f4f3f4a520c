using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace PubSubGateway.LoadTest.Reporting;

/// <summary>The <c>connect</c> scenario: how fast idle subscribed connections open and what each costs.</summary>
internal sealed record ConnectResult
{
    public required DateTimeOffset StartedUtc { get; init; }

    public string? Label { get; init; }

    public required string Url { get; init; }

    public required int Requested { get; init; }

    public required int Connected { get; init; }

    public required int Topics { get; init; }

    public required double ConnectSeconds { get; init; }

    /// <summary>Connections opened, upgraded and subscribed (ack received) per second.</summary>
    public required double OpenRate { get; init; }

    /// <summary>The gateway's own <c>gateway_connections</c> gauge once every client is connected.</summary>
    public double? ServerConnections { get; init; }

    public long? ServerRssBeforeKiB { get; init; }

    public long? ServerRssAfterKiB { get; init; }

    /// <summary>(RSS with every connection open − RSS before) / connections.</summary>
    public double? ServerKiBPerConnection { get; init; }

    public required double ClientKiBPerConnection { get; init; }

    /// <summary>Clients that received the one message published to every topic after the hold.</summary>
    public required int ReceivedProbe { get; init; }

    public required double LoadAverageBefore { get; init; }

    public required double LoadAverageAfter { get; init; }

    public string ToMarkdown() => new StringBuilder()
        .Append("| connections | topics | open s | opens/s | srv conns | srv RSS before MiB | srv RSS after MiB | srv KiB/conn | client KiB/conn | probe received | load avg |\n")
        .Append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
        .Append(CultureInfo.InvariantCulture, $"| {Connected:N0}/{Requested:N0} | {Topics:N0} | {ConnectSeconds:0.00} | {OpenRate:N0} | {ServerConnections:N0} | {ServerRssBeforeKiB / 1024.0:0} | {ServerRssAfterKiB / 1024.0:0} | {ServerKiBPerConnection:0.0} | {ClientKiBPerConnection:0.0} | {ReceivedProbe:N0} | {LoadAverageAfter:0.0} |\n")
        .ToString();
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(ConnectResult))]
internal sealed partial class ConnectResultJson : JsonSerializerContext;
