using System.Diagnostics;

namespace PubSubGateway.Connections;

/// <summary>
/// Wraps the upgraded Kestrel stream under a connection's WebSocket. Two jobs:
/// <list type="bullet">
/// <item>Write coalescing. Between <see cref="BeginBatch"/> and <see cref="EndBatchAsync"/> the
/// frames ManagedWebSocket writes are gathered in one pooled buffer and reach the socket (or
/// Kestrel's pipe, see <see cref="DuplexPipeStream"/>) as a single write. The writer loop batches
/// whatever is queued, so a busy connection costs one send syscall per batch instead of one per
/// frame, and the per-frame send
/// path never waits on the socket — under back-pressure it used to allocate a state-machine box,
/// a Task and two flush boxes per frame (loadtest allocation profile, 1,000 subscribers at
/// 1,500 msg/s).</item>
/// <item>When ManagedWebSocket aborts itself right after sending a close frame (it does so for
/// invalid UTF-8, 1007), the transport is torn down a little later instead of at once, so the peer
/// reads the close frame before the TCP reset that closing with unread input causes.</item>
/// </list>
/// </summary>
internal sealed class UpgradedStream(Stream inner) : Stream
{
    /// <summary>A batch is written out once it holds this much (the writer loop stops adding then).</summary>
    public const int BatchBytes = 32 * 1024;

    private static readonly TimeSpan DisposeDelay = TimeSpan.FromMilliseconds(250);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly Lock _batchLock = new();
    private byte[]? _batch;
    private int _batchLength;
    private bool _batching;
    private int _disposed;

    /// <summary>True when the transport underneath writes straight to the socket (see <see cref="DuplexPipeStream"/>).</summary>
    public bool WritesToSocket => inner is DuplexPipeStream { WritesToSocket: true };

    /// <summary>Bytes gathered in the current batch.</summary>
    public int BatchedBytes => Volatile.Read(ref _batchLength);

    /// <summary>From now on writes are gathered, not sent, until <see cref="EndBatchAsync"/>.</summary>
    public void BeginBatch()
    {
        lock (_batchLock)
        {
            _batching = true;
        }
    }

    /// <summary>
    /// Adds a complete, already framed WebSocket frame to the current batch (between
    /// <see cref="BeginBatch"/> and <see cref="EndBatchAsync"/>). ManagedWebSocket's own frames
    /// (pings, close) are whole frames too, so the two never interleave inside a frame.
    /// </summary>
    public void AppendFrame(ReadOnlySpan<byte> frame)
    {
        lock (_batchLock)
        {
            Debug.Assert(_batching, "AppendFrame outside a batch");
            Append(frame);
        }
    }

    /// <summary>
    /// Sends everything gathered since <see cref="BeginBatch"/> as one write. With
    /// <paramref name="keepBuffer"/> (more frames are already queued) the pooled buffer stays with
    /// the connection for the next batch: under back-pressure a thousand busy connections each hold
    /// one, and renting afresh per batch missed the pool and allocated (41 B per delivery at 2 M
    /// deliveries/s in the fan-out benchmark).
    /// </summary>
    public async ValueTask EndBatchAsync(bool keepBuffer, CancellationToken cancellationToken)
    {
        byte[]? batch;
        int length;
        lock (_batchLock)
        {
            _batching = false;
            batch = _batch;
            length = _batchLength;
            _batch = null;
            _batchLength = 0;
        }

        if (batch is null)
        {
            return;
        }

        var returned = false;
        try
        {
            if (length > 0)
            {
                await WriteInnerAsync(batch.AsMemory(0, length), cancellationToken);
            }

            lock (_batchLock)
            {
                if (keepBuffer && _batch is null)
                {
                    _batch = batch;
                    returned = true;
                }
            }
        }
        finally
        {
            if (!returned)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(batch);
            }
        }
    }

    /// <summary>
    /// Starts writing one whole frame now, on the caller's thread, when no other write holds the
    /// socket (the writer loop is parked, so nothing is being batched). Returns false, having done
    /// nothing, when another write (a ping, a close) is under way; the caller then queues the frame.
    /// Otherwise <paramref name="write"/> is the write: almost always already completed, because
    /// the kernel (or Kestrel's pipe) takes the bytes at once; pending only while the socket's send
    /// buffer (or the pipe) is full, and the socket stays claimed until then.
    /// </summary>
    public bool TryBeginDirectWrite(ReadOnlyMemory<byte> frame, CancellationToken cancellationToken, out ValueTask write)
    {
        if (!_writeLock.Wait(0))
        {
            write = default;
            return false;
        }

        try
        {
            write = inner.WriteAsync(frame, cancellationToken);
        }
        catch (Exception ex)
        {
            _writeLock.Release();
            write = ValueTask.FromException(ex);
            return true;
        }

        if (write.IsCompleted)
        {
            _writeLock.Release();
        }
        else
        {
            write = ReleaseAfterAsync(write);
        }

        return true;
    }

    private async ValueTask ReleaseAfterAsync(ValueTask write)
    {
        try
        {
            await write;
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Returns a kept batch buffer to the pool (the connection went idle or is closing).</summary>
    public void ReleaseBuffer()
    {
        byte[]? batch;
        lock (_batchLock)
        {
            if (_batching || _batch is null)
            {
                return;
            }

            batch = _batch;
            _batch = null;
        }

        System.Buffers.ArrayPool<byte>.Shared.Return(batch);
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.ReadAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        lock (_batchLock)
        {
            if (_batching)
            {
                Append(buffer.Span);
                return ValueTask.CompletedTask;
            }
        }

        return WriteInnerAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    /// <summary>Writes to Kestrel; one writer at a time (the batch flush and a control frame may race).</summary>
    private async ValueTask WriteInnerAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await inner.WriteAsync(buffer, cancellationToken);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    /// <summary>Caller holds <see cref="_batchLock"/>.</summary>
    private void Append(ReadOnlySpan<byte> bytes)
    {
        var needed = _batchLength + bytes.Length;
        if (_batch is null || needed > _batch.Length)
        {
            var bigger = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(needed, BatchBytes + 1024));
            if (_batch is not null)
            {
                _batch.AsSpan(0, _batchLength).CopyTo(bigger);
                System.Buffers.ArrayPool<byte>.Shared.Return(_batch);
            }

            _batch = bigger;
        }

        bytes.CopyTo(_batch.AsSpan(_batchLength));
        _batchLength = needed;
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Disposes the transport now (normal end of the connection).</summary>
    public void DisposeNow()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            inner.Dispose();
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing && Volatile.Read(ref _disposed) == 0)
        {
            _ = Task.Delay(DisposeDelay).ContinueWith(static (_, s) => ((UpgradedStream)s!).DisposeNow(), this, TaskScheduler.Default);
        }

        base.Dispose(disposing);
    }
}
