namespace PubSubGateway.Connections;

/// <summary>
/// Wraps the upgraded Kestrel stream under a connection's WebSocket. Two jobs:
/// <list type="bullet">
/// <item>One write at a time. The connection's writer loop sends whole batches of frames under
/// the <see cref="WriteGate"/> (<see cref="EnterWriteAsync"/>, <see cref="WriteHeldAsync"/>,
/// <see cref="ExitWrite"/>), a direct write takes it only when it is free
/// (<see cref="TryBeginDirectWrite"/>), and ManagedWebSocket's own frames (pings, pongs, close)
/// wait for it in <see cref="WriteAsync(ReadOnlyMemory{byte}, CancellationToken)"/>. Every frame
/// is complete when it is written, so frames never interleave.</item>
/// <item>When ManagedWebSocket aborts itself right after sending a close frame (it does so for
/// invalid UTF-8, 1007), the transport is torn down a little later instead of at once, so the peer
/// reads the close frame before the TCP reset that closing with unread input causes.</item>
/// </list>
/// </summary>
internal sealed class UpgradedStream(Stream inner) : Stream
{
    private static readonly TimeSpan DisposeDelay = TimeSpan.FromMilliseconds(250);
    private readonly WriteGate _gate = new();
    private int _disposed;

    /// <summary>True when the transport underneath writes straight to the socket (see <see cref="DuplexPipeStream"/>).</summary>
    public bool WritesToSocket => inner is DuplexPipeStream { WritesToSocket: true };

    /// <summary>Takes the socket for a batch: usually at once, else after the control frame being written.</summary>
    public ValueTask EnterWriteAsync(CancellationToken cancellationToken) => _gate.EnterAsync(cancellationToken);

    /// <summary>Writes while holding the socket (between <see cref="EnterWriteAsync"/> and <see cref="ExitWrite"/>).</summary>
    public ValueTask WriteHeldAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken) => inner.WriteAsync(buffer, cancellationToken);

    /// <summary>Gives the socket back (to a waiting control frame, if any).</summary>
    public void ExitWrite() => _gate.Exit();

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
        if (!_gate.TryEnter())
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
            _gate.Exit();
            write = ValueTask.FromException(ex);
            return true;
        }

        if (write.IsCompleted)
        {
            _gate.Exit();
        }
        else
        {
            write = ExitAfterAsync(write);
        }

        return true;
    }

    private async ValueTask ExitAfterAsync(ValueTask write)
    {
        try
        {
            await write;
        }
        finally
        {
            _gate.Exit();
        }
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

    /// <summary>ManagedWebSocket's own frames: written once the socket is free.</summary>
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await _gate.EnterAsync(cancellationToken);
        try
        {
            await inner.WriteAsync(buffer, cancellationToken);
        }
        finally
        {
            _gate.Exit();
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

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
