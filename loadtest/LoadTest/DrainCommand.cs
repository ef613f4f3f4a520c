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

    /// <summary>
    /// The drain results among <paramref name="paths"/>, or null when any argument is not a drain
    /// result file: an option (<c>report --chart …</c>), a missing or non-JSON file, or another
    /// scenario's result. <c>report</c> then handles the arguments, and reports their errors.
    /// </summary>
    public static async Task<IReadOnlyList<DrainResult>?> TryReadAllAsync(IEnumerable<string> paths)
    {
        var results = new List<DrainResult>();
        foreach (var path in paths)
        {
            if (path.StartsWith('-') || !File.Exists(path))
            {
                return null;
            }

            var bytes = await File.ReadAllBytesAsync(path);
            try
            {
                using var doc = JsonDocument.Parse(bytes);
                if (doc.RootElement.ValueKind != JsonValueKind.Object
                    || !doc.RootElement.TryGetProperty("scenario", out var scenario) || scenario.GetString() != "drain")
                {
                    return null;
                }
            }
            catch (JsonException)
            {
                return null;
            }

            results.Add(JsonSerializer.Deserialize(bytes, DrainJson.Default.DrainResult) ?? throw new InvalidDataException(path + " is empty"));
        }

        return results;
    }
}
