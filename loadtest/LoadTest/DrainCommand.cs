using System.Text.Json;
using PubSubGateway.LoadTest.Cli;
using PubSubGateway.LoadTest.Reporting;
using PubSubGateway.LoadTest.Scenarios;

namespace PubSubGateway.LoadTest;

/// <summary><c>drain</c> on the command line, and <c>report</c> for drain result files.</summary>
internal static class DrainCommand
{
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter progress, CancellationToken cancellationToken)
    {
        if (args.Contains("--help"))
        {
            await output.WriteLineAsync(DrainOptions.Usage);
            return LoadTestCommand.Ok;
        }

        var (options, errors) = DrainOptions.Parse(args);
        if (options is null)
        {
            await progress.WriteLineAsync("invalid arguments:\n  " + string.Join("\n  ", errors) + "\n\n" + DrainOptions.Usage);
            return LoadTestCommand.BadArguments;
        }

        DrainResult result;
        try
        {
            result = await new DrainScenario(options, progress).RunAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or System.Net.Sockets.SocketException or System.Net.WebSockets.WebSocketException or InvalidOperationException or TimeoutException or NATS.Client.Core.NatsException or HttpRequestException or JsonException)
        {
            await progress.WriteLineAsync($"drain failed: {ex.Message}");
            return LoadTestCommand.Failed;
        }

        if (options.JsonPath is not null)
        {
            await using var file = File.Create(options.JsonPath);
            await JsonSerializer.SerializeAsync(file, result, DrainJson.Default.DrainResult, cancellationToken);
        }

        await output.WriteLineAsync(DrainTable.Render([result]));
        return options.FailOnLoss && !result.Clean ? LoadTestCommand.Lossy : LoadTestCommand.Ok;
    }

    /// <summary>The drain results among <paramref name="paths"/>, or null when any file is not one (then it is another scenario's).</summary>
    public static async Task<IReadOnlyList<DrainResult>?> TryReadAllAsync(IEnumerable<string> paths)
    {
        var results = new List<DrainResult>();
        foreach (var path in paths)
        {
            var bytes = await File.ReadAllBytesAsync(path);
            using (var doc = JsonDocument.Parse(bytes))
            {
                if (!doc.RootElement.TryGetProperty("scenario", out var scenario) || scenario.GetString() != "drain")
                {
                    return null;
                }
            }

            results.Add(JsonSerializer.Deserialize(bytes, DrainJson.Default.DrainResult) ?? throw new InvalidDataException(path + " is empty"));
        }

        return results;
    }
}
