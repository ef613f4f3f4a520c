namespace PubSubGateway.Subscriptions;

/// <summary>
/// The subscribers of one topic as fan-out sees them: an immutable view of (array, count). Adding
/// writes into spare capacity and publishes a new view, so N subscribers joining one topic cost
/// O(N) in total instead of the O(N²) of copying the array each time (the loadtest profile of
/// 19,000 clients ramping onto one topic sampled 1.6 GiB of array copies). Removing marks the
/// subscriber (fan-out skips it) and compacts into a new array once half the slots are dead.
/// Slots below a published count are never written again, so a reader holding an old view is safe.
/// </summary>
internal sealed class SubscriberList
{
    public static readonly SubscriberList Empty = new([], 0, 0);

    private SubscriberList(Subscriber[] items, int count, int removed)
    {
        Items = items;
        Count = count;
        Removed = removed;
    }

    /// <summary>Slots 0..Count-1 are in use; some may hold removed subscribers.</summary>
    public Subscriber[] Items { get; }

    public int Count { get; }

    public int Removed { get; }

    public int Live => Count - Removed;

    /// <summary>Caller serialises writers (the registry's stripe lock).</summary>
    public SubscriberList Add(Subscriber subscriber)
    {
        if (Count < Items.Length)
        {
            Items[Count] = subscriber;
            return new SubscriberList(Items, Count + 1, Removed);
        }

        var grown = Compact(Math.Max(4, Live * 2));
        grown.Items[grown.Count] = subscriber;
        return new SubscriberList(grown.Items, grown.Count + 1, 0);
    }

    /// <summary>Caller serialises writers. The subscriber must already be marked removed.</summary>
    public SubscriberList AfterRemoval() =>
        Removed + 1 > Count / 2 ? Compact(Math.Max(4, Live * 2)) : new SubscriberList(Items, Count, Removed + 1);

    private SubscriberList Compact(int capacity)
    {
        var items = new Subscriber[capacity];
        var n = 0;
        for (var i = 0; i < Count; i++)
        {
            if (!Items[i].IsRemoved)
            {
                items[n++] = Items[i];
            }
        }

        return new SubscriberList(items, n, 0);
    }
}
