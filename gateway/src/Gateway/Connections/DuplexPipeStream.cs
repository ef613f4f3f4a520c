using System.Buffers;
using System.IO.Pipelines;

namespace PubSubGateway.Connections;

/// <summary>
/// The stream a raw-upgraded WebSocket runs over: reads and writes go straight to the Kestrel
/// connection's transport pipes, with no HTTP request underneath.
/// </summary>
internal sealed class DuplexPipeStream(IDuplexPipe transport) : Stream
{
    private readonly PipeReader _input = transport.Input;
    private readonly PipeWriter _output = transport.Output;
    private volatile bool _disposed;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Reads what is buffered, up to <paramref name="buffer"/>'s length; 0 at end of stream.</summary>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var result = await _input.ReadAsync(cancellationToken);
            var readable = result.Buffer;
            if (result.IsCanceled && readable.IsEmpty)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                continue;
            }

            if (readable.IsEmpty && result.IsCompleted)
            {
                _input.AdvanceTo(readable.End);
                return 0;
            }

            // A zero-byte read (ManagedWebSocket does one while idle) only waits for data.
            var count = (int)Math.Min(readable.Length, buffer.Length);
            var taken = readable.Slice(0, count);
            taken.CopyTo(buffer.Span);
            _input.AdvanceTo(taken.End, count == 0 ? readable.Start : taken.End);
            return count;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var flush = await _output.WriteAsync(buffer, cancellationToken);
        if (flush.IsCompleted)
        {
            throw new IOException("the connection is closed");
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => _output.FlushAsync(cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Wakes a pending read, which then throws; Kestrel closes the transport when the connection ends.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _input.CancelPendingRead();
        }

        base.Dispose(disposing);
    }
}
