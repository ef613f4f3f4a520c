using PubSubGateway.LoadTest.Cli;

namespace PubSubGateway.LoadTest.Tests.Cli;

public sealed class RunOptionsTests
{
    [Theory]
    [InlineData("fanout", 1)]
    [InlineData("topics", 1)]
    [InlineData("churn", 1)]
    [InlineData("soak", 10)]
    public void The_series_interval_is_one_second_except_for_soak(string scenario, double seconds)
    {
        var (options, errors) = RunOptions.Parse(scenario, []);

        Assert.True(options is not null, string.Join("; ", errors));
        Assert.Equal(seconds, options.IntervalSeconds);
    }

    [Fact]
    public void Chart_into_a_missing_directory_is_refused_before_the_run()
    {
        var path = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}", "chart.html");

        var (options, errors) = RunOptions.Parse("fanout", ["--chart", path]);

        Assert.Null(options);
        Assert.Contains(errors, e => e.StartsWith("--chart: directory", StringComparison.Ordinal));
    }

    [Fact]
    public void Chart_is_refused_for_connect_which_has_no_series()
    {
        var (options, errors) = RunOptions.Parse("connect", ["--chart", "c.html"]);

        Assert.Null(options);
        Assert.Contains("--chart is for fanout, topics, soak and churn, not connect", errors);
    }

    [Theory]
    [InlineData("gateway", "bench")]
    [InlineData("nats-ws", "bench")]
    [InlineData("signalr", "signalr")]
    public void The_topic_prefix_defaults_to_what_the_target_listens_on(string target, string prefix)
    {
        var (options, errors) = RunOptions.Parse("fanout", ["--target", target]);

        Assert.True(options is not null, string.Join("; ", errors));
        Assert.Equal(prefix, options.TopicPrefix);
        Assert.Equal("other", RunOptions.Parse("fanout", ["--target", target, "--topic-prefix", "other"]).Options!.TopicPrefix);
    }
}
