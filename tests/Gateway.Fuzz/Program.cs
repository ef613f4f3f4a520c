using PubSubGateway.Fuzz;
using SharpFuzz;

// Usage:
//   Gateway.Fuzz                      under afl-fuzz (SharpFuzz fork-server loop); alone, runs stdin once
//   Gateway.Fuzz --replay PATH...     runs every file (directories recursively) through the target, without
//                                     afl; prints each failure with its input as base64 and the stack, then
//                                     "replay: N passed, N failed"; exits 1 on any failure
if (args.Length > 0 && args[0] == "--replay")
{
    return Replay.Run(args[1..]);
}

if (args.Length > 0)
{
    Console.Error.WriteLine("usage: Gateway.Fuzz [--replay PATH...]");
    return 2;
}

var buffer = new MemoryStream();
Fuzzer.Run(stream =>
{
    buffer.SetLength(0);
    stream.CopyTo(buffer);
    FuzzTarget.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
});
return 0;

internal static class Replay
{
    public static int Run(string[] paths)
    {
        var files = paths.SelectMany(p => Directory.Exists(p)
                ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith('.') && !f.EndsWith(".md", StringComparison.Ordinal))
                : [p])
            .Order(StringComparer.Ordinal)
            .ToList();
        int passed = 0, failed = 0;
        foreach (var file in files)
        {
            var input = File.ReadAllBytes(file);
            try
            {
                FuzzTarget.Run(input);
                passed++;
            }
            catch (Exception ex)
            {
                failed++;
                Console.WriteLine($"FAIL {file}");
                Console.WriteLine($"  input (base64): {Convert.ToBase64String(input)}");
                Console.WriteLine($"  {ex.GetType().FullName}: {ex.Message}");
                Console.WriteLine(ex.StackTrace);
            }
        }

        Console.WriteLine($"replay: {passed} passed, {failed} failed");
        return failed == 0 && files.Count > 0 ? 0 : 1;
    }
}
