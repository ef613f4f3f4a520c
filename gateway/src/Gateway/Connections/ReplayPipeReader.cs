using System.Buffers;
using System.IO.Pipelines;

namespace PubSubGateway.Connections;

/// <summary>
/// A pipe reader that first hands out bytes already taken from the transport, then reads the
/// transport itself. <see cref="RawUpgradeMiddleware"/> needs it only when a request head arrived in
/// several reads and then turned out not to be a handshake it completes itself: a pipe cannot be
/// rewound past what was examined, so those bytes are copied out and replayed to Kestrel's HTTP
/// parser. Until the copy is used up, newly arriving bytes are appended to it (rare and small: at
/// most one request head).
/// </summary>
internal sealed class ReplayPipeReader(byte[] replay, PipeReader inner) : PipeReader
{
    private byte[]? _pending = replay;
    private int _start;
    private int _length = replay.Length;
    private bool _examinedAll;

    public override bool TryRead(out ReadResult result)
    {
        if (_pending is null)
        {
            return inner.TryRead(out result);
        }

        if (_examinedAll)
        {
            if (!inner.TryRead(out var more))
            {
                result = default;
                return false;
            }

            result = Append(more);
            return true;
        }

        result = new ReadResult(Pending, isCanceled: false, isCompleted: false);
        return true;
    }

    public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        if (_pending is null)
        {
            return await inner.ReadAsync(cancellationToken);
        }

        if (!_examinedAll)
        {
            return new ReadResult(Pending, isCanceled: false, isCompleted: false);
        }

        return Append(await inner.ReadAsync(cancellationToken));
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        if (_pending is null)
        {
            inner.AdvanceTo(consumed, examined);
            return;
        }

        var end = _start + _length;
        var consumedIndex = consumed.GetInteger();
        _examinedAll = examined.GetInteger() >= end;
        _length = end - consumedIndex;
        _start = consumedIndex;
        if (_length == 0)
        {
            _pending = null;
        }
    }

    public override void CancelPendingRead() => inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    private ReadOnlySequence<byte> Pending => new(_pending!, _start, _length);

    /// <summary>Moves what the transport just delivered behind the pending bytes.</summary>
    private ReadResult Append(ReadResult more)
    {
        var incoming = more.Buffer;
        if (incoming.Length > 0)
        {
            var joined = new byte[_length + incoming.Length];
            _pending.AsSpan(_start, _length).CopyTo(joined);
            incoming.CopyTo(joined.AsSpan(_length));
            _pending = joined;
            _start = 0;
            _length = joined.Length;
            _examinedAll = false;
        }

        inner.AdvanceTo(incoming.End);
        return new ReadResult(Pending, more.IsCanceled, more.IsCompleted);
    }
}
