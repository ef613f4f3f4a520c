namespace PubSubGateway.LoadTest.Clients;

/// <summary>Which sequence numbers one client has seen: a growable bitset (10,000 messages = 1.25 KB).</summary>
internal sealed class SequenceTracker
{
    private ulong[] _bits;
    private long _highest = -1;

    public SequenceTracker(long expected) => _bits = new ulong[Math.Max(1, (expected + 63) / 64)];

    public long Distinct { get; private set; }

    public long Duplicates { get; private set; }

    public long OutOfOrder { get; private set; }

    public void Record(long seq)
    {
        var word = seq >> 6;
        if (word >= _bits.Length)
        {
            Array.Resize(ref _bits, (int)Math.Max(word + 1, _bits.Length * 2L));
        }

        var mask = 1UL << (int)(seq & 63);
        if ((_bits[word] & mask) != 0)
        {
            Duplicates++;
            return;
        }

        _bits[word] |= mask;
        Distinct++;
        if (seq < _highest)
        {
            OutOfOrder++;
        }
        else
        {
            _highest = seq;
        }
    }

    /// <summary>Messages in [0, <paramref name="published"/>) never seen.</summary>
    public long Missing(long published) => Math.Max(0, published - Distinct);
}
