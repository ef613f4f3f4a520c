using PubSubGateway.LoadTest.Reporting;
using PubSubGateway.LoadTest.Reporting.Charts;
using static PubSubGateway.LoadTest.Tests.Reporting.Charts.ChartXml;

namespace PubSubGateway.LoadTest.Tests.Reporting.Charts;

public sealed class LatencyChartTests
{
    private static readonly LatencyPoint[] Series =
    [
        new(1, 1, 1000, 1000, 2.5, 8, 20, 31),
        new(2, 1, 1200, 1200, 3, 9, 45, 120),
        new(3, 1, 0, 0, double.NaN, double.NaN, double.NaN, double.NaN),
        new(4, 1, 900, 900, 1.2, 4, 12.5, 14),
        new(4.3, 0.3, 90, 300, 0.8, 1.1, 1.9, 2),
    ];

    private static ChartRun Run(string name, IReadOnlyList<LatencyPoint> points, string setup = "fanout, 1,000 subscribers, 1 topic, 1,000 msg/s") =>
        new(name, setup, $"fanout → {name}: details", "end-to-end latency", "deliveries/s", "seconds since the first measured publish", 1, points);

    [Fact]
    public void Page_is_well_formed_xml_with_two_svg_panels_and_a_title_naming_the_setup()
    {
        var page = Parse(LatencyChart.Render([Run("gateway", Series)]));

        var title = page.Descendants("title").First().Value;
        Assert.Equal("fanout, 1,000 subscribers, 1 topic, 1,000 msg/s → gateway: end-to-end latency over time", title);
        Assert.Equal(["latency", "rate"], page.Descendants(Svg + "svg").Select(e => e.Attribute("id")!.Value));
        Assert.DoesNotContain(page.Descendants(), e => e.Name.LocalName is "script" or "link" or "img");
        var legend = Panel(page, "latency").Elements(Svg + "g").Where(g => (string?)g.Attribute("class") == "legend").Select(g => g.Value);
        Assert.Equal(["p50", "p90", "p99", "max"], legend);
        Assert.Contains("ms (log scale)", Panel(page, "latency").Value);
    }

    [Theory]
    [InlineData("p50")]
    [InlineData("p90")]
    [InlineData("p99")]
    [InlineData("max")]
    public void Every_interval_with_a_sample_is_plotted_where_the_axis_labels_say_and_an_empty_one_breaks_the_line(string percentile)
    {
        var panel = Panel(Parse(LatencyChart.Render([Run("gateway", Series)])), "latency");
        var yTicks = Ticks(panel, "y");
        var xTicks = Ticks(panel, "x");

        var segments = Segments(panel, "0:" + percentile);

        // The empty third interval splits the five points into 2 + 2.
        Assert.Equal([2, 2], segments.Select(s => s.Count));
        var plotted = segments.SelectMany(s => s).ToList();
        var expected = Series.Where(p => !double.IsNaN(p.P99Ms)).ToList();
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(PixelOf(xTicks, expected[i].EndSeconds, log: false), plotted[i].X, 0.6);
            Assert.Equal(PixelOf(yTicks, LatencyChart.Value(expected[i], percentile), log: true), plotted[i].Y, 0.6);
        }

        Assert.Equal(plotted, Markers(panel, "0:" + percentile));
    }

    [Fact]
    public void Rate_panel_plots_every_interval_including_the_empty_one_on_a_linear_axis_from_zero()
    {
        var panel = Panel(Parse(LatencyChart.Render([Run("gateway", Series)])), "rate");
        var yTicks = Ticks(panel, "y");

        var points = Assert.Single(Segments(panel, "0:rate"));

        Assert.Equal(0, yTicks[0].Value);
        Assert.True(yTicks[^1].Value >= 1200);
        Assert.Equal(Series.Length, points.Count);
        for (var i = 0; i < Series.Length; i++)
        {
            Assert.Equal(PixelOf(yTicks, Series[i].PerSecond, log: false), points[i].Y, 0.6);
        }

        Assert.Equal(yTicks[0].Pixel, points[2].Y, 0.6);
    }

    [Fact]
    public void Higher_percentiles_are_drawn_higher_at_every_point()
    {
        var panel = Panel(Parse(LatencyChart.Render([Run("gateway", Series)])), "latency");
        var lines = LatencyChart.Percentiles.Select(p => Segments(panel, "0:" + p).SelectMany(s => s).Select(pt => pt.Y).ToList()).ToList();

        for (var i = 0; i < lines[0].Count; i++)
        {
            Assert.True(lines[0][i] >= lines[1][i] && lines[1][i] >= lines[2][i] && lines[2][i] >= lines[3][i], $"point {i}: {string.Join(", ", lines.Select(l => l[i]))}");
        }
    }

    [Fact]
    public void Linear_scale_starts_at_zero_and_still_matches_the_labels()
    {
        var panel = Panel(Parse(LatencyChart.Render([Run("gateway", Series)], ["p99"], logarithmic: false)), "latency");
        var yTicks = Ticks(panel, "y");

        var plotted = Segments(panel, "0:p99").SelectMany(s => s).ToList();

        Assert.Equal(0, yTicks[0].Value);
        Assert.Equal(PixelOf(yTicks, 45, log: false), plotted[1].Y, 0.6);
        Assert.DoesNotContain("log scale", panel.Value);
    }

    [Fact]
    public void Empty_series_still_renders_both_panels_saying_no_data()
    {
        var page = Parse(LatencyChart.Render([Run("gateway", [])]));

        foreach (var id in new[] { "latency", "rate" })
        {
            var panel = Panel(page, id);
            Assert.Empty(panel.Elements(Svg + "polyline"));
            Assert.Empty(panel.Elements(Svg + "circle"));
            Assert.Equal("no data", panel.Elements(Svg + "text").Single(e => (string?)e.Attribute("class") == "no-data").Value);
        }
    }

    [Fact]
    public void A_lone_point_between_gaps_is_drawn_as_a_marker()
    {
        LatencyPoint[] series = [new(1, 1, 0, 0, double.NaN, double.NaN, double.NaN, double.NaN), new(2, 1, 5, 5, 3, 3, 3, 3), new(3, 1, 0, 0, double.NaN, double.NaN, double.NaN, double.NaN)];

        var panel = Panel(Parse(LatencyChart.Render([Run("gateway", series)])), "latency");

        Assert.Empty(Segments(panel, "0:p99"));
        Assert.Single(Markers(panel, "0:p99"));
        Assert.DoesNotContain(panel.Elements(Svg + "text"), e => (string?)e.Attribute("class") == "no-data");
    }

    [Fact]
    public void Long_series_drop_the_markers_but_keep_every_point_in_the_line()
    {
        var series = Enumerable.Range(1, 1000).Select(i => new LatencyPoint(i, 1, 10, 10, 1, 2, 3 + (i % 7), 11)).ToList();

        var panel = Panel(Parse(LatencyChart.Render([Run("soak", series)])), "latency");

        Assert.Equal(1000, Assert.Single(Segments(panel, "0:p99")).Count);
        Assert.Empty(Markers(panel, "0:p99"));
    }

    [Fact]
    public void Overlay_draws_p99_per_run_in_its_own_colour_with_the_runs_named_in_title_and_legend()
    {
        var other = Series.Select(p => p with { P99Ms = p.P99Ms * 2 }).ToArray();

        var page = Parse(LatencyChart.Render([Run("gateway", Series), Run("nats-ws", other)]));
        var panel = Panel(page, "latency");

        Assert.Equal("fanout, 1,000 subscribers, 1 topic, 1,000 msg/s: end-to-end latency over time, gateway vs nats-ws", page.Descendants("h1").Single().Value);
        Assert.Equal(["gateway p99", "nats-ws p99"], panel.Elements(Svg + "g").Where(g => (string?)g.Attribute("class") == "legend").Select(g => g.Value));
        Assert.Empty(Segments(panel, "0:p50"));
        var colours = new[] { "0:p99", "1:p99" }.Select(k => panel.Elements(Svg + "polyline").First(e => (string?)e.Attribute("data-line") == k).Attribute("stroke")!.Value).ToList();
        Assert.NotEqual(colours[0], colours[1]);
        var gateway = Segments(panel, "0:p99").SelectMany(s => s).ToList();
        var nats = Segments(panel, "1:p99").SelectMany(s => s).ToList();
        Assert.All(gateway.Zip(nats), pair => Assert.True(pair.Second.Y < pair.First.Y, "twice the latency must be drawn higher"));
        Assert.Equal(2, Segments(Panel(page, "rate"), "0:rate").Concat(Segments(Panel(page, "rate"), "1:rate")).Count());
    }

    [Fact]
    public void Runs_with_the_same_name_are_numbered_and_text_is_escaped()
    {
        var html = LatencyChart.Render([Run("gateway", Series, "fanout <&> \"x\""), Run("gateway", Series, "fanout <&> \"x\"")], ["p50", "p99"]);

        var page = Parse(html);

        Assert.Contains("fanout <&> \"x\"", page.Descendants("h1").Single().Value);
        Assert.Equal(["gateway #1 p50", "gateway #1 p99", "gateway #2 p50", "gateway #2 p99"], Panel(page, "latency").Elements(Svg + "g").Where(g => (string?)g.Attribute("class") == "legend").Select(g => g.Value));
    }

    [Fact]
    public void Unknown_percentiles_are_refused()
    {
        Assert.Throws<ArgumentException>(() => LatencyChart.Render([Run("gateway", Series)], ["p95"]));
    }
}
