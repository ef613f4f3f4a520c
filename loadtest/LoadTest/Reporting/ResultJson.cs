using System.Text.Json;
using System.Text.Json.Serialization;

namespace PubSubGateway.LoadTest.Reporting;

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(RunResult))]
internal sealed partial class ResultJson : JsonSerializerContext
{
    public static async Task WriteAsync(string path, RunResult result)
    {
        await using var file = File.Create(path);
        await JsonSerializer.SerializeAsync(file, result, Default.RunResult);
    }

    public static async Task<RunResult> ReadAsync(string path)
    {
        await using var file = File.OpenRead(path);
        return await JsonSerializer.DeserializeAsync(file, Default.RunResult) ?? throw new InvalidDataException(path + " is empty");
    }
}
