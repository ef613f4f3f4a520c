using System.Globalization;
using System.Security;
using System.Text;

namespace PubSubGateway.LoadTest.Reporting.Charts;

/// <summary>One line of a panel: a key for tests and styling, a legend label and its points (NaN breaks the line).</summary>
internal sealed record PlotLine(string Key, string Label, string Color, string? Dash, IReadOnlyList<(double X, double Y)> Points);

/// <summary>
/// One chart panel as inline SVG: title, legend, gridlines, tick labels, axis titles and a
/// polyline per line, broken where a value can't be drawn (an interval without samples; ≤ 0 on a
/// log axis). Points carry a <c>&lt;title&gt;</c> tooltip while there are few enough of them;
/// no script.
/// </summary>
internal static class SvgPanel
{
    public const int Width = 960;

    // Above this many points per line the markers (and their tooltips) would only add weight.
    private const int MaxMarkersPerLine = 240;

    private const int Left = 78, Right = 20, Bottom = 46, LegendRowHeight = 16;

    public static void Render(StringBuilder svg, string id, string title, string xTitle, string yTitle, Axis x, Axis y, IReadOnlyList<PlotLine> lines, string unit, int height)
    {
        var legendRows = LegendRows(lines);
        var top = 30 + (legendRows.Count * LegendRowHeight) + 8;
        var plotWidth = Width - Left - Right;
        var plotHeight = height - top - Bottom;
        double Px(double v) => Left + (Math.Clamp(x.Fraction(v), 0, 1) * plotWidth);
        double Py(double v) => top + plotHeight - (Math.Clamp(y.Fraction(v), 0, 1) * plotHeight);

        svg.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"{id}\" width=\"{Width}\" height=\"{height}\" viewBox=\"0 0 {Width} {height}\" font-family=\"sans-serif\" font-size=\"11\">\n");
        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"0\" y=\"0\" width=\"{Width}\" height=\"{height}\" fill=\"#fff\"/>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">{Escape(title)}</text>\n");

        // Legend: a short stroke in the line's style, then its label.
        for (var row = 0; row < legendRows.Count; row++)
        {
            var lx = (double)Left;
            var ly = 30 + (row * LegendRowHeight) + 8;
            foreach (var line in legendRows[row])
            {
                svg.Append(CultureInfo.InvariantCulture, $"<g class=\"legend\" data-line=\"{Escape(line.Key)}\"><line x1=\"{lx:0.#}\" y1=\"{ly - 4}\" x2=\"{lx + 22:0.#}\" y2=\"{ly - 4}\" stroke=\"{line.Color}\" stroke-width=\"2\"{DashAttribute(line.Dash)}/>")
                    .Append(CultureInfo.InvariantCulture, $"<text x=\"{lx + 27:0.#}\" y=\"{ly}\">{Escape(line.Label)}</text></g>\n");
                lx += LegendItemWidth(line);
            }
        }

        // Grid and tick labels.
        svg.Append("<g class=\"grid\" stroke=\"#e3e3e3\" stroke-width=\"1\">\n");
        foreach (var t in y.Ticks)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Left}\" y1=\"{Py(t):0.#}\" x2=\"{Left + plotWidth}\" y2=\"{Py(t):0.#}\"/>\n");
        }

        foreach (var t in x.Ticks)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<line x1=\"{Px(t):0.#}\" y1=\"{top}\" x2=\"{Px(t):0.#}\" y2=\"{top + plotHeight}\"/>\n");
        }

        svg.Append("</g>\n<g class=\"ticks\" fill=\"#444\">\n");
        foreach (var t in y.Ticks)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"y-tick\" x=\"{Left - 6}\" y=\"{Py(t) + 4:0.#}\" text-anchor=\"end\">{Escape(y.Label(t))}</text>\n");
        }

        foreach (var t in x.Ticks)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"x-tick\" x=\"{Px(t):0.#}\" y=\"{top + plotHeight + 16}\" text-anchor=\"middle\">{Escape(x.Label(t))}</text>\n");
        }

        svg.Append("</g>\n")
            .Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{top}\" width=\"{plotWidth}\" height=\"{plotHeight}\" fill=\"none\" stroke=\"#888\"/>\n")
            .Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + (plotWidth / 2)}\" y=\"{height - 10}\" text-anchor=\"middle\">{Escape(xTitle)}</text>\n")
            .Append(CultureInfo.InvariantCulture, $"<text transform=\"translate(16 {top + (plotHeight / 2)}) rotate(-90)\" text-anchor=\"middle\">{Escape(yTitle)}</text>\n");

        var drawn = 0;
        foreach (var line in lines)
        {
            var plottable = line.Points.Count(p => x.CanPlot(p.X) && y.CanPlot(p.Y));
            drawn += plottable;
            var markers = plottable <= MaxMarkersPerLine;
            foreach (var segment in Segments(line.Points, x, y))
            {
                if (segment.Count > 1)
                {
                    svg.Append(CultureInfo.InvariantCulture, $"<polyline data-line=\"{Escape(line.Key)}\" fill=\"none\" stroke=\"{line.Color}\" stroke-width=\"1.6\" stroke-linejoin=\"round\"{DashAttribute(line.Dash)} points=\"")
                        .AppendJoin(' ', segment.Select(p => string.Create(CultureInfo.InvariantCulture, $"{Px(p.X):0.##},{Py(p.Y):0.##}")))
                        .Append("\"/>\n");
                }

                if (markers || segment.Count == 1)
                {
                    foreach (var p in segment)
                    {
                        svg.Append(CultureInfo.InvariantCulture, $"<circle data-line=\"{Escape(line.Key)}\" cx=\"{Px(p.X):0.##}\" cy=\"{Py(p.Y):0.##}\" r=\"2.2\" fill=\"{line.Color}\"><title>{Escape(line.Label)} at {p.X:0.0} s: {Escape(y.Label(p.Y))}{Escape(unit)}</title></circle>\n");
                    }
                }
            }
        }

        if (drawn == 0)
        {
            svg.Append(CultureInfo.InvariantCulture, $"<text class=\"no-data\" x=\"{Left + (plotWidth / 2)}\" y=\"{top + (plotHeight / 2)}\" text-anchor=\"middle\" font-size=\"14\" fill=\"#888\">no data</text>\n");
        }

        svg.Append("</svg>\n");
    }

    /// <summary>Runs of consecutive drawable points.</summary>
    internal static List<List<(double X, double Y)>> Segments(IReadOnlyList<(double X, double Y)> points, Axis x, Axis y)
    {
        var segments = new List<List<(double X, double Y)>>();
        List<(double X, double Y)>? current = null;
        foreach (var p in points)
        {
            if (!x.CanPlot(p.X) || !y.CanPlot(p.Y))
            {
                current = null;
                continue;
            }

            if (current is null)
            {
                current = [];
                segments.Add(current);
            }

            current.Add(p);
        }

        return segments;
    }

    public static string Escape(string text) => SecurityElement.Escape(text);

    private static string DashAttribute(string? dash) => dash is null ? "" : $" stroke-dasharray=\"{dash}\"";

    private static double LegendItemWidth(PlotLine line) => 27 + (line.Label.Length * 6.2) + 18;

    private static List<List<PlotLine>> LegendRows(IReadOnlyList<PlotLine> lines)
    {
        var rows = new List<List<PlotLine>>();
        var width = double.MaxValue;
        foreach (var line in lines)
        {
            var w = LegendItemWidth(line);
            if (width + w > Width - Left - Right)
            {
                rows.Add([]);
                width = 0;
            }

            rows[^1].Add(line);
            width += w;
        }

        return rows;
    }
}
