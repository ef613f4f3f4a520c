using PubSubGateway.LoadTest.Cli;
using PubSubGateway.LoadTest.Reporting;
using PubSubGateway.LoadTest.Reporting.Charts;
using PubSubGateway.LoadTest.Scenarios;

namespace PubSubGateway.LoadTest;

/// <summary>Command dispatch: <c>fanout</c>, <c>topics</c>, <c>report</c>. Exit codes: 0 ok, 2 bad arguments, 3 loss with --fail-on-loss, 1 run failed.</summary>
internal static class LoadTestCommand
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadArguments = 2;
    public const int Lossy = 3;

    private const string Usage = """
        usage: LoadTest <scenario> [options]     (LoadTest <scenario> --help for the options)
          fanout   1 topic, N subscribers, publish rate R
          topics   N connections, each on its own topic, R msg/s spread over them
          connect  ramp to N idle subscribed connections: open rate, server KiB per connection
          churn    connect/disconnect storm: N clients cycle connect, subscribe, stay, disconnect
          soak     steady fan-out for a long --duration, sampled per --interval: drift of RSS and p99
          drain    N clients through the router(s) on durable topics; drain one node through the control
                   plane: time to empty, reconnects per second, lost and duplicated messages
          report   FILE.json...   Markdown table of results (median per configuration)
                   --chart FILE.html overlays the runs' latency over time (report --help)
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter progress)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help")
        {
            await output.WriteLineAsync(Usage);
            return args.Length == 0 ? BadArguments : Ok;
        }

        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cancel.Cancel();
        };

        switch (args[0])
        {
            case "fanout" or "topics":
                return await RunScenarioAsync(args[0], args[1..], output, progress, cancel.Token);
            case "connect":
                return await RunConnectAsync(args[1..], output, progress, cancel.Token);
            case "churn" or "soak":
                return await RunChurnOrSoakAsync(args[0], args[1..], output, progress, cancel.Token);
            case "drain":
                return await DrainCommand.RunAsync(args[1..], output, progress, cancel.Token);
            case "report" when await DrainCommand.TryReadAllAsync(args[1..]) is { Count: > 0 } drains:
                await output.WriteLineAsync(DrainTable.Render(drains));
                return Ok;
            case "report":
                return await ReportCommand.RunAsync(args[1..], output, progress);
            default:
                await progress.WriteLineAsync($"unknown scenario '{args[0]}'\n{Usage}");
                return BadArguments;
        }
    }

    /// <summary>The parsed options; or null and the exit code after answering <c>--help</c> or reporting bad arguments.</summary>
    private static async Task<(RunOptions? Options, int Exit)> ParseAsync(string scenario, string[] args, TextWriter output, TextWriter progress)
    {
        if (args.Contains("--help"))
        {
            await output.WriteLineAsync(RunOptions.Usage(scenario));
            return (null, Ok);
        }

        var (options, errors) = RunOptions.Parse(scenario, args);
        if (options is null)
        {
            await progress.WriteLineAsync("invalid arguments:\n  " + string.Join("\n  ", errors) + "\n\n" + RunOptions.Usage(scenario));
            return (null, BadArguments);
        }

        return (options, Ok);
    }

    private static async Task<int> RunScenarioAsync(string scenario, string[] args, TextWriter output, TextWriter progress, CancellationToken cancellationToken)
    {
        var (options, exit) = await ParseAsync(scenario, args, output, progress);
        if (options is null)
        {
            return exit;
        }

        RunResult result;
        try
        {
            result = await new PubSubScenario(options, progress).RunAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or System.Net.WebSockets.WebSocketException or InvalidOperationException or NATS.Client.Core.NatsException or HttpRequestException)
        {
            await progress.WriteLineAsync($"{scenario} failed: {ex.Message}");
            return Failed;
        }

        if (options.JsonPath is not null)
        {
            await ResultJson.WriteAsync(options.JsonPath, result);
        }

        if (options.ChartPath is not null)
        {
            await LatencyChart.WriteAsync(options.ChartPath, [ChartRun.From(result)]);
        }

        await output.WriteLineAsync(MarkdownTable.Render([result]));
        await output.WriteLineAsync(Summary(result));
        return options.FailOnLoss && (result.Lost > 0 || result.Duplicates > 0 || result.Connected < result.Subscribers) ? Lossy : Ok;
    }

    private static async Task<int> RunConnectAsync(string[] args, TextWriter output, TextWriter progress, CancellationToken cancellationToken)
    {
        var (options, exit) = await ParseAsync("connect", args, output, progress);
        if (options is null)
        {
            return exit;
        }

        var result = await new ConnectScenario(options, progress).RunAsync(cancellationToken);
        if (options.JsonPath is not null)
        {
            await using var file = File.Create(options.JsonPath);
            await System.Text.Json.JsonSerializer.SerializeAsync(file, result, ConnectResultJson.Default.ConnectResult, cancellationToken);
        }

        await output.WriteLineAsync(result.ToMarkdown());
        return options.FailOnLoss && (result.Connected < result.Requested || result.ReceivedProbe < result.Connected) ? Lossy : Ok;
    }

    private static async Task<int> RunChurnOrSoakAsync(string scenario, string[] args, TextWriter output, TextWriter progress, CancellationToken cancellationToken)
    {
        var (options, exit) = await ParseAsync(scenario, args, output, progress);
        if (options is null)
        {
            return exit;
        }

        try
        {
            if (scenario == "churn")
            {
                var churn = await new ChurnScenario(options, progress).RunAsync(cancellationToken);
                if (options.JsonPath is not null)
                {
                    await using var file = File.Create(options.JsonPath);
                    await System.Text.Json.JsonSerializer.SerializeAsync(file, churn, ChurnSoakJson.Default.ChurnResult, cancellationToken);
                }

                if (options.ChartPath is not null)
                {
                    await LatencyChart.WriteAsync(options.ChartPath, [ChartRun.From(churn)]);
                }

                await output.WriteLineAsync(churn.ToMarkdown());
                var failed = churn.FailedRefused + churn.FailedHttp429 + churn.FailedClose1013 + churn.FailedTimeout + churn.FailedOther + churn.ClosedEarly;
                return options.FailOnLoss && (failed > 0 || churn.ServerConnectionsAtEnd > 0) ? Lossy : Ok;
            }

            var soak = await new SoakScenario(options, progress).RunAsync(cancellationToken);
            if (options.JsonPath is not null)
            {
                await using var file = File.Create(options.JsonPath);
                await System.Text.Json.JsonSerializer.SerializeAsync(file, soak, ChurnSoakJson.Default.SoakResult, cancellationToken);
            }

            if (options.ChartPath is not null)
            {
                await LatencyChart.WriteAsync(options.ChartPath, [ChartRun.From(soak)]);
            }

            await output.WriteLineAsync(soak.ToMarkdown());
            return options.FailOnLoss && (soak.Lost > 0 || soak.Duplicates > 0 || soak.ClientsDisconnected > 0) ? Lossy : Ok;
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or System.Net.WebSockets.WebSocketException or InvalidOperationException or NATS.Client.Core.NatsException or HttpRequestException)
        {
            await progress.WriteLineAsync($"{scenario} failed: {ex.Message}");
            return Failed;
        }
    }

    private static string Summary(RunResult r) => FormattableString.Invariant(
        $"{r.Scenario}: {r.Connected:N0} clients, {r.Published:N0} messages, {r.Delivered:N0}/{r.ExpectedDeliveries:N0} delivered, lost {r.Lost:N0}, duplicates {r.Duplicates:N0}, out of order {r.OutOfOrder:N0}, {r.DeliveriesPerSecond:N0} deliveries/s, p50 {r.Latency.P50Ms:0.00} ms, p99 {r.Latency.P99Ms:0.00} ms{(r.Drained ? "" : " (NOT drained before the timeout)")}");
}
