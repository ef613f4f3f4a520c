using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace PubSubGateway.Connections;

/// <summary>
/// The stream a raw-upgraded WebSocket runs over: reads come from the Kestrel connection's input
/// pipe, with no HTTP request underneath. Writes go straight to the connection's socket when
/// Kestrel's socket transport exposes it, and to the output pipe otherwise.
/// <para>
/// Writing to the socket skips Kestrel's output pipe: a copy into it, a flush, and a hop to one of
/// its I/O threads, which then makes the same <c>send</c> call. In the fan-out benchmark (1,000
/// subscribers, 1,000 msg/s) the pipe path's flush, I/O-queue dispatch and send loop were about a
/// sixth of the gateway's CPU outside the kernel (perf, 2026-11-30); writing to the socket took
/// the gateway from 1.10 to 0.97 CPU-s per million deliveries there. Kestrel never writes to the
/// connection once it is upgraded here, so the socket has a single writer: this stream, whose
/// writes <see cref="UpgradedStream"/> serializes.
/// </para>
/// </summary>
internal sealed class DuplexPipeStream : Stream, IValueTaskSource<int>
{
    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly Socket? _socket;
    private readonly Action _onReadCompleted;
    private ManualResetValueTaskSourceCore<int> _read;
    private ConfiguredValueTaskAwaitable<ReadResult>.ConfiguredValueTaskAwaiter _pending;
    private Memory<byte> _target;
    private volatile bool _disposed;

    /// <param name="transport">The connection's pipes.</param>
    /// <param name="socket">The connection's socket, to write to directly; null to write to the output pipe.</param>
    public DuplexPipeStream(IDuplexPipe transport, Socket? socket)
    {
        _input = transport.Input;
        _output = transport.Output;
        _socket = socket;
        _onReadCompleted = OnReadCompleted;
    }

    /// <summary>True when writes go to the socket rather than the output pipe.</summary>
    public bool WritesToSocket => _socket is not null;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>
    /// Reads what is buffered, up to <paramref name="buffer"/>'s length; 0 at end of stream. A read
    /// that has to wait completes through this stream itself (<see cref="IValueTaskSource{TResult}"/>)
    /// instead of an async state machine: every idle connection has one such read pending, and the
    /// box was 176 B of each (heap snapshot of 10,000 idle connections).
    /// </summary>
    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var read = _input.ReadAsync(cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            return new ValueTask<int>(Take(read.Result, buffer.Span));
        }

        _target = buffer;
        _pending = read.ConfigureAwait(false).GetAwaiter();
        _read.Reset();
        _pending.UnsafeOnCompleted(_onReadCompleted);
        return new ValueTask<int>(this, _read.Version);
    }

    int IValueTaskSource<int>.GetResult(short token) => _read.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _read.GetStatus(token);

    void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _read.OnCompleted(continuation, state, token, flags);

    private void OnReadCompleted()
    {
        var target = _target;
        _target = default;
        int count;
        try
        {
            var result = _pending.GetResult();
            _pending = default;
            count = Take(result, target.Span);
        }
        catch (Exception ex)
        {
            _read.SetException(ex);
            return;
        }

        _read.SetResult(count);
    }

    /// <summary>Copies what <paramref name="result"/> holds into <paramref name="destination"/> and advances the pipe.</summary>
    private int Take(ReadResult result, Span<byte> destination)
    {
        var readable = result.Buffer;
        if (readable.IsEmpty)
        {
            _input.AdvanceTo(readable.End);
            if (result.IsCanceled)
            {
                // Only Dispose cancels a pending read.
                ObjectDisposedException.ThrowIf(true, this);
            }

            return 0;
        }

        // A zero-byte read (ManagedWebSocket does one while idle) only waits for data.
        var count = (int)Math.Min(readable.Length, destination.Length);
        var taken = readable.Slice(0, count);
        taken.CopyTo(destination);
        _input.AdvanceTo(taken.End, count == 0 ? readable.Start : taken.End);
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Writes all of <paramref name="buffer"/>. On the socket path a send the kernel accepts at once
    /// (the common case) completes synchronously without allocating; one that has to wait for room
    /// in the socket's send buffer completes later, which is the connection's back-pressure.
    /// Socket errors surface as <see cref="IOException"/>, like the pipe's.
    /// </summary>
    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_socket is null)
        {
            return WritePipeAsync(buffer, cancellationToken);
        }

        ValueTask<int> send;
        try
        {
            send = _socket.SendAsync(buffer, SocketFlags.None, cancellationToken);
        }
        catch (SocketException ex)
        {
            return ValueTask.FromException(new IOException(ex.Message, ex));
        }

        if (send.IsCompletedSuccessfully)
        {
            _ = send.Result;
            return ValueTask.CompletedTask;
        }

        return AwaitSendAsync(send);
    }

    private static async ValueTask AwaitSendAsync(ValueTask<int> send)
    {
        try
        {
            await send.ConfigureAwait(false);
        }
        catch (SocketException ex)
        {
            throw new IOException(ex.Message, ex);
        }
    }

    private async ValueTask WritePipeAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
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
