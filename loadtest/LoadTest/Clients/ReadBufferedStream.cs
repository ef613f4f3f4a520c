namespace PubSubGateway.LoadTest.Clients;

/// <summary>
/// Read-side buffering under a client WebSocket; writes pass straight through (unlike
/// <see cref="BufferedStream"/>, which would hold a small <c>sub</c> frame until a flush that the
/// WebSocket never calls). The managed WebSocket reads frame headers into a 139-byte buffer of its
/// own, so without this every small <c>msg</c> frame costs about two <c>recv</c> calls; with a few KB
/// here one call returns dozens of frames. Also hands out bytes that were read past the HTTP
/// upgrade response (the server's first frame can arrive in the same segment).
/// </summary>
internal sealed class ReadBufferedStream : Stream
{
    private readonly Stream _inner;
    private byte[] _buffer;
    private readonly int _bufferSize;
    private int _offset;
    private int _count;

    /// <param name="inner">The socket stream.</param>
    /// <param name="leftover">Bytes already read from <paramref name="inner"/> that belong to the WebSocket.</param>
    /// <param name="bufferSize">Read buffer size; 0 reads straight into the caller's buffer (idle-connection scenarios).</param>
    public ReadBufferedStream(Stream inner, ReadOnlySpan<byte> leftover, int bufferSize)
    {
        _inner = inner;
        _bufferSize = bufferSize;
        _buffer = leftover.Length == 0 ? [] : leftover.ToArray();
        _count = leftover.Length;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (_count > 0)
        {
            return new ValueTask<int>(Take(destination.Span));
        }

        if (_bufferSize == 0 || destination.Length >= _bufferSize)
        {
            return _inner.ReadAsync(destination, cancellationToken);
        }

        return FillAndTakeAsync(destination, cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(byte[] buffer, int offset, int count) => _inner.Write(buffer, offset, count);

    public override void Flush() => _inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => _inner.FlushAsync(cancellationToken);

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private async ValueTask<int> FillAndTakeAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (_buffer.Length < _bufferSize)
        {
            _buffer = new byte[_bufferSize];
        }

        var read = await _inner.ReadAsync(_buffer, cancellationToken);
        if (read == 0)
        {
            return 0;
        }

        _offset = 0;
        _count = read;
        return Take(destination.Span);
    }

    private int Take(Span<byte> destination)
    {
        var count = Math.Min(destination.Length, _count);
        _buffer.AsSpan(_offset, count).CopyTo(destination);
        _offset += count;
        _count -= count;
        return count;
    }
}
