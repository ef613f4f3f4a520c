namespace PubSubGateway.LoadTest.Tests.Reporting;

public sealed class ReportCommandTests
{
    [Fact]
    public async Task A_file_that_is_no_run_result_fails_with_its_name()
    {
        var path = Path.Combine(Path.GetTempPath(), $"not-a-result-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, "{\"requested\": 10}");
        var errors = new StringWriter();
        try
        {
            var exit = await LoadTestCommand.RunAsync(["report", path], TextWriter.Null, errors);

            Assert.Equal(LoadTestCommand.Failed, exit);
            Assert.Contains(path + ": not a fanout, topics, soak or churn result", errors.ToString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Bad_options_are_all_reported_at_once()
    {
        var errors = new StringWriter();

        var exit = await LoadTestCommand.RunAsync(["report", "--percentiles", "p95", "--bogus"], TextWriter.Null, errors);

        Assert.Equal(LoadTestCommand.BadArguments, exit);
        Assert.Contains("--percentiles must be among p50,p90,p99,max (got 'p95')", errors.ToString());
        Assert.Contains("unknown option --bogus", errors.ToString());
        Assert.Contains("no result files given", errors.ToString());
    }
}
