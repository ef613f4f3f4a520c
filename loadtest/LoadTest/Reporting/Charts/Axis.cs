using System.Globalization;

namespace PubSubGateway.LoadTest.Reporting.Charts;

/// <summary>
/// A linear or logarithmic value axis: its domain rounded out to "nice" ticks (1, 2, 5 × 10ⁿ) and
/// where a value falls on it, as a fraction from the low end (0) to the high end (1).
/// </summary>
internal sealed class Axis
{
    private readonly Func<double, string> _format;

    private Axis(double min, double max, bool logarithmic, IReadOnlyList<double> ticks, Func<double, string> format)
    {
        Min = min;
        Max = max;
        Logarithmic = logarithmic;
        Ticks = ticks;
        _format = format;
    }

    public double Min { get; }

    public double Max { get; }

    public bool Logarithmic { get; }

    public IReadOnlyList<double> Ticks { get; }

    /// <summary>
    /// From <paramref name="min"/> (usually 0) to <paramref name="max"/>, about five ticks; rounded
    /// out to the ticks around them, or, with <paramref name="roundOut"/> false (a time axis that
    /// should end where the data ends), exactly those bounds with the ticks inside.
    /// </summary>
    public static Axis Linear(double min, double max, Func<double, string>? format = null, bool roundOut = true)
    {
        if (!(max > min))
        {
            max = min + 1;
        }

        var step = Nice((max - min) / 5);
        var low = roundOut ? Math.Floor(min / step) * step : Math.Ceiling(min / step) * step;
        var high = roundOut ? Math.Ceiling(max / step) * step : Math.Floor(max / step) * step;
        var ticks = new List<double>();
        for (var i = 0; low + (i * step) <= high + (step / 1e6); i++)
        {
            ticks.Add(Math.Round(low + (i * step), 12));
        }

        return roundOut ? new Axis(low, high, false, ticks, format ?? Number) : new Axis(min, max, false, ticks, format ?? Number);
    }

    /// <summary>
    /// Positive values only. Spanning up to three decades it ticks at 1, 2 and 5 × 10ⁿ and ends on
    /// the ticks around the data; wider, only at powers of ten.
    /// </summary>
    public static Axis Log(double min, double max, Func<double, string>? format = null)
    {
        if (!(min > 0) || !(max >= min))
        {
            (min, max) = (1, 10);
        }

        var low = Math.Pow(10, Math.Floor(Math.Log10(min)));
        var high = Math.Pow(10, Math.Ceiling(Math.Log10(max)));
        if (high <= low)
        {
            high = low * 10;
        }

        var decades = (int)Math.Round(Math.Log10(high / low));
        var ticks = new List<double>();
        for (var d = 0; d <= decades; d++)
        {
            var decade = low * Math.Pow(10, d);
            foreach (var m in decades <= 3 && d < decades ? new[] { 1.0, 2, 5 } : [1.0])
            {
                ticks.Add(decade * m);
            }
        }

        if (decades <= 3)
        {
            // Trim to the last tick at or below min and the first at or above max.
            var first = ticks.FindLastIndex(t => t <= min * (1 + 1e-9));
            var last = ticks.FindIndex(t => t >= max * (1 - 1e-9));
            ticks = ticks.GetRange(first, last - first + 1);
            if (ticks.Count == 1)
            {
                ticks.Add(ticks[0] * 2);
            }
        }

        return new Axis(ticks[0], ticks[^1], true, ticks, format ?? Number);
    }

    /// <summary>0 at <see cref="Min"/>, 1 at <see cref="Max"/>; outside [0, 1] for values outside the domain.</summary>
    public double Fraction(double value) => Logarithmic
        ? (Math.Log10(value) - Math.Log10(Min)) / (Math.Log10(Max) - Math.Log10(Min))
        : (value - Min) / (Max - Min);

    /// <summary>Whether <paramref name="value"/> can be drawn on this axis (finite; positive on a log axis).</summary>
    public bool CanPlot(double value) => double.IsFinite(value) && (!Logarithmic || value > 0);

    public string Label(double value) => _format(value);

    /// <summary>1,000 and 0.25: thousands separated, at most three decimals.</summary>
    public static string Number(double value) => value.ToString(Math.Abs(value) >= 1 ? "#,0.##" : "0.###", CultureInfo.InvariantCulture);

    /// <summary>250k, 1.5M.</summary>
    public static string Si(double value) => Math.Abs(value) switch
    {
        >= 1e6 => (value / 1e6).ToString("0.##", CultureInfo.InvariantCulture) + "M",
        >= 1e3 => (value / 1e3).ToString("0.##", CultureInfo.InvariantCulture) + "k",
        _ => Number(value),
    };

    private static double Nice(double rough)
    {
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        var f = rough / magnitude;
        return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * magnitude;
    }
}
