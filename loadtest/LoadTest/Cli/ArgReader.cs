using System.Globalization;

namespace PubSubGateway.LoadTest.Cli;

/// <summary>
/// Reads <c>--name value</c> and bare <c>--flag</c> arguments. Every problem is collected, so a bad
/// command line is reported in one go; unknown names are errors too (a typo must not silently
/// run the default).
/// </summary>
internal sealed class ArgReader
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public ArgReader(IEnumerable<string> args, IReadOnlySet<string> flags)
    {
        var list = args.ToList();
        for (var i = 0; i < list.Count; i++)
        {
            var arg = list[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                Errors.Add($"unexpected argument '{arg}'");
                continue;
            }

            var name = arg[2..];
            if (flags.Contains(name))
            {
                _values[name] = null;
            }
            else if (i + 1 < list.Count)
            {
                _values[name] = list[++i];
            }
            else
            {
                Errors.Add($"--{name} needs a value");
            }
        }
    }

    public List<string> Errors { get; } = [];

    public bool Flag(string name)
    {
        _used.Add(name);
        return _values.ContainsKey(name);
    }

    public string? String(string name)
    {
        _used.Add(name);
        return _values.GetValueOrDefault(name);
    }

    public string String(string name, string fallback) => String(name) ?? fallback;

    public int Int(string name, int fallback, int min, int max) => (int)Number(name, fallback, min, max);

    public double Number(string name, double fallback, double min, double max)
    {
        var text = String(name);
        if (text is null)
        {
            return fallback;
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Errors.Add($"--{name} must be a number between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)} (got '{text}')");
            return fallback;
        }

        return value;
    }

    /// <summary>A duration in seconds: <c>90</c>, <c>90s</c>, <c>1.5m</c> or <c>2h</c>.</summary>
    public double Seconds(string name, double fallback, double min, double max)
    {
        var text = String(name);
        if (text is null)
        {
            return fallback;
        }

        var unit = text.Length > 0 ? text[^1] : ' ';
        var factor = unit switch { 's' => 1, 'm' => 60, 'h' => 3600, _ => 0 };
        var number = factor == 0 ? text : text[..^1];
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value * Math.Max(1, factor) < min || value * Math.Max(1, factor) > max)
        {
            Errors.Add($"--{name} must be a duration between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)} seconds, e.g. 90, 90s or 1.5m (got '{text}')");
            return fallback;
        }

        return value * Math.Max(1, factor);
    }

    public Uri? Uri(string name, string? fallback, params string[] schemes)
    {
        var text = String(name) ?? fallback;
        if (text is null)
        {
            return null;
        }

        if (!System.Uri.TryCreate(text, UriKind.Absolute, out var uri) || !schemes.Contains(uri.Scheme))
        {
            Errors.Add($"--{name} must be an absolute {string.Join("/", schemes)} URL (got '{text}')");
            return null;
        }

        return uri;
    }

    /// <summary>Adds an error for every argument no option asked for; call after reading them all.</summary>
    public void RejectUnknown()
    {
        foreach (var name in _values.Keys.Where(n => !_used.Contains(n)))
        {
            Errors.Add($"unknown option --{name}");
        }
    }
}
