using PubSubGateway.LoadTest.Reporting.Charts;

namespace PubSubGateway.LoadTest.Tests.Reporting.Charts;

public sealed class AxisTests
{
    [Fact]
    public void Log_axis_over_few_decades_ticks_at_1_2_5_and_ends_on_the_ticks_around_the_data()
    {
        var axis = Axis.Log(3.2, 140);

        Assert.Equal([2, 5, 10, 20, 50, 100, 200], axis.Ticks);
        Assert.Equal(0, axis.Fraction(2), 9);
        Assert.Equal(1, axis.Fraction(200), 9);
        Assert.Equal(0.5, axis.Fraction(20), 9);
    }

    [Fact]
    public void Log_axis_over_many_decades_ticks_at_powers_of_ten()
    {
        var axis = Axis.Log(0.05, 20_000);

        Assert.Equal([0.01, 0.1, 1, 10, 100, 1000, 10_000, 100_000], axis.Ticks.Select(t => Math.Round(t, 6)));
        Assert.False(axis.CanPlot(0));
        Assert.False(axis.CanPlot(double.NaN));
    }

    [Fact]
    public void Log_axis_of_a_single_value_still_has_a_range()
    {
        var axis = Axis.Log(10, 10);

        Assert.True(axis.Max > axis.Min);
        Assert.InRange(axis.Fraction(10), 0, 1);
    }

    [Fact]
    public void Linear_axis_rounds_out_to_nice_steps()
    {
        var axis = Axis.Linear(0, 1_234_567, Axis.Si);

        Assert.Equal([0, 500_000, 1_000_000, 1_500_000], axis.Ticks);
        Assert.Equal("1.5M", axis.Label(1_500_000));
        Assert.Equal("500k", axis.Label(500_000));
        Assert.Equal(0.5, Axis.Linear(0, 20).Fraction(10), 9);
    }

    [Fact]
    public void Time_axis_ends_where_the_data_ends_with_its_ticks_inside()
    {
        var axis = Axis.Linear(0, 20.06, roundOut: false);

        Assert.Equal([0, 5, 10, 15, 20], axis.Ticks);
        Assert.Equal(20.06, axis.Max);
        Assert.Equal(1, axis.Fraction(20.06), 9);
    }

    [Fact]
    public void Linear_axis_of_nothing_is_zero_to_one()
    {
        var axis = Axis.Linear(0, 0);

        Assert.Equal(0, axis.Min);
        Assert.Equal(1, axis.Max);
        Assert.Equal("0.2", axis.Label(0.2));
    }
}
