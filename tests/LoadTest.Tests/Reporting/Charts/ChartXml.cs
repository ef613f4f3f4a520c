using System.Globalization;
using System.Xml;
using System.Xml.Linq;

namespace PubSubGateway.LoadTest.Tests.Reporting.Charts;

/// <summary>Reads a chart page back as XML: it must be well-formed, so the SVG can be checked point by point.</summary>
internal static class ChartXml
{
    public static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    public static XDocument Parse(string html)
    {
        using var reader = XmlReader.Create(new StringReader(html), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore });
        return XDocument.Load(reader);
    }

    public static XElement Panel(XDocument page, string id) =>
        page.Descendants(Svg + "svg").Single(e => (string?)e.Attribute("id") == id);

    /// <summary>The coordinates of every polyline of <paramref name="key"/>, one list per segment.</summary>
    public static List<List<(double X, double Y)>> Segments(XElement panel, string key) =>
        panel.Elements(Svg + "polyline")
            .Where(e => (string?)e.Attribute("data-line") == key)
            .Select(e => e.Attribute("points")!.Value.Split(' ').Select(Point).ToList())
            .ToList();

    public static List<(double X, double Y)> Markers(XElement panel, string key) =>
        panel.Elements(Svg + "circle")
            .Where(e => (string?)e.Attribute("data-line") == key)
            .Select(e => (Number(e.Attribute("cx")!.Value), Number(e.Attribute("cy")!.Value)))
            .ToList();

    /// <summary>Tick labels with their pixel position (the text baseline is 4 px below a y tick).</summary>
    public static List<(double Value, double Pixel)> Ticks(XElement panel, string axis) =>
        panel.Descendants(Svg + "text")
            .Where(e => (string?)e.Attribute("class") == axis + "-tick")
            .Select(e => (Number(e.Value), axis == "y" ? Number(e.Attribute("y")!.Value) - 4 : Number(e.Attribute("x")!.Value)))
            .ToList();

    /// <summary>Where <paramref name="value"/> belongs on an axis, interpolated from its outermost tick labels.</summary>
    public static double PixelOf(List<(double Value, double Pixel)> ticks, double value, bool log)
    {
        var (a, b) = (ticks[0], ticks[^1]);
        double F(double v) => log ? Math.Log10(v) : v;
        return a.Pixel + ((F(value) - F(a.Value)) / (F(b.Value) - F(a.Value)) * (b.Pixel - a.Pixel));
    }

    private static (double X, double Y) Point(string pair)
    {
        var parts = pair.Split(',');
        return (Number(parts[0]), Number(parts[1]));
    }

    // Tick labels use thousands separators and k/M suffixes.
    private static double Number(string text)
    {
        var factor = text.EndsWith('M') ? 1e6 : text.EndsWith('k') ? 1e3 : 1;
        return double.Parse(text.TrimEnd('k', 'M').Replace(",", ""), CultureInfo.InvariantCulture) * factor;
    }
}
