namespace PubSubGateway.Connections;

/// <summary>
/// Wraps the upgraded Kestrel stream under a connection's WebSocket. Its only job today: when
/// ManagedWebSocket aborts itself right after sending a close frame (it does so for invalid UTF-8,
/// 1007), the transport is torn down a little later instead of at once, so the peer reads the close
/// frame before the TCP reset that closing with unread input causes.
/// </summary>
internal sealed class UpgradedStream(Stream inner) : Stream
{
    private static readonly TimeSpan DisposeDelay = TimeSpan.FromMilliseconds(250);
    private int _disposed;

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

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

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
