using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.WebUtilities;
using PubSubGateway.Security;

namespace PubSubGateway.Connections;

/// <summary>
/// Kestrel connection middleware in front of the HTTP pipeline that completes WebSocket upgrades
/// to <c>/ws</c> itself. An upgrade through ASP.NET Core keeps the whole HTTP/1.1 request alive
/// under the WebSocket for as long as it is open: <c>Http1Connection</c>, header collections, two
/// pipes, the <c>HttpContext</c>, an <c>Activity</c>, logging scopes. A heap snapshot of 10,000
/// idle connections put that at ~8.9 KiB of the 13.6 KiB managed heap per connection. Here the
/// socket runs straight over the transport pipes.
/// <para>
/// Only the success path is handled here: a request that is not a well-formed upgrade to
/// <c>/ws</c>, or that would be refused (origin, subprotocol, token, connection limits), is handed
/// to the HTTP pipeline untouched, which answers it exactly as it always has (the checks are the
/// shared ones in <see cref="WebSocketEndpoint"/>). Nothing is consumed before that decision, so
/// every other request costs one look at the first bytes of the connection.
/// </para>
/// </summary>
internal sealed class RawUpgradeMiddleware(ConnectionDelegate next, IServiceProvider services)
{
    /// <summary>Heads longer than this go to the HTTP pipeline (its own limit, 32 KiB by default, applies there).</summary>
    private const int MaxHeadBytes = 16 * 1024;

    private ConnectionServices? _services;
    private TrustedProxies? _proxies;

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        // The handshake runs in its own async method so that nothing it used (the parsed head,
        // the timeout) stays referenced from this state machine, which lives as long as the socket.
        if (await HandshakeAsync(connection) is not { } accepted)
        {
            return;
        }

        var services = _services!;
        try
        {
            var transport = new DuplexPipeStream(connection.Transport, WritableSocket(connection));
            await transport.WriteAsync(SwitchingProtocols(accepted.AcceptKey, accepted.SubProtocol), connection.ConnectionClosed);
            services.Metrics.RawHandshakes.Inc();
            var stream = new UpgradedStream(transport);
            using var socket = WebSocketEndpoint.CreateSocket(stream, accepted.SubProtocol, services.Options.Heartbeat);
            using var client = new ClientConnection(socket, stream, services, accepted.Identity);
            await client.RunAsync(connection.ConnectionClosed);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ConnectionResetException or ObjectDisposedException)
        {
            // The peer left during the handshake (Kestrel disposes the socket once it has gone).
        }
        finally
        {
            services.Manager.Release(accepted.Ip, accepted.Identity.Subject);
        }
    }

    /// <summary>
    /// Reads the request head and either admits the client (head consumed, connection slot taken)
    /// or hands the connection to the HTTP pipeline, runs it there and returns null.
    /// </summary>
    private async Task<Accepted?> HandshakeAsync(ConnectionContext connection)
    {
        _services ??= services.GetRequiredService<ConnectionServices>();
        _proxies ??= services.GetRequiredService<TrustedProxies>();
        var input = connection.Transport.Input;
        var reads = 0;
        ReadOnlySequence<byte> buffer;
        using (var timeout = new CancellationTokenSource(_services.Options.Limits.HandshakeTimeoutMs))
        {
            while (true)
            {
                ReadResult read;
                try
                {
                    read = await input.ReadAsync(timeout.Token);
                }
                catch (OperationCanceledException)
                {
                    // Same limit as the HTTP pipeline's request-headers timeout: a head that never completes is dropped.
                    connection.Abort(new ConnectionAbortedException("WebSocket handshake timed out"));
                    return null;
                }
                catch (Exception ex) when (ex is IOException or ConnectionResetException or ConnectionAbortedException)
                {
                    return null; // the peer reset the connection before finishing its request
                }

                reads++;
                buffer = read.Buffer;
                var head = Classify(buffer, out var headEnd, out var complete);
                if (!complete && !read.IsCompleted && !read.IsCanceled && buffer.Length < MaxHeadBytes)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    continue;
                }

                if (head is not null && await TryAdmitOrDeferAsync(connection, head) is { } accepted)
                {
                    input.AdvanceTo(headEnd);
                    return accepted;
                }

                break;
            }
        }

        await FallThroughAsync(connection, input, buffer, reads);
        return null;
    }

    /// <summary>
    /// Hands the connection to the HTTP pipeline with nothing consumed. After a single read the pipe
    /// is simply left where it was; after several (examined bytes cannot be un-examined) the bytes
    /// are replayed through <see cref="ReplayPipeReader"/>.
    /// </summary>
    private Task FallThroughAsync(ConnectionContext connection, PipeReader input, ReadOnlySequence<byte> buffer, int reads)
    {
        if (reads == 1)
        {
            input.AdvanceTo(buffer.Start);
        }
        else
        {
            var copy = buffer.ToArray();
            input.AdvanceTo(buffer.End);
            connection.Transport = new Transport(copy.Length > 0 ? new ReplayPipeReader(copy, input) : input, connection.Transport.Output);
        }

        return next(connection);
    }

    /// <summary>True while the bytes so far could still be the start of <c>GET /ws</c> followed by a space or <c>?</c>.</summary>
    private static bool MayBeOurs(ReadOnlySequence<byte> buffer)
    {
        Span<byte> start = stackalloc byte[8];
        var length = (int)Math.Min(buffer.Length, start.Length);
        buffer.Slice(0, length).CopyTo(start);
        var prefix = UpgradeRequest.Prefix;
        if (length <= prefix.Length)
        {
            return prefix.StartsWith(start[..length]);
        }

        return start.StartsWith(prefix) && start[prefix.Length] is (byte)' ' or (byte)'?';
    }

    /// <summary>
    /// The parsed upgrade once the buffer holds a complete head that is ours. <paramref name="complete"/>
    /// is false while more bytes are needed to decide: the start still matches <c>GET /ws</c> and the
    /// blank line ending the head has not arrived.
    /// </summary>
    private static UpgradeRequest? Classify(ReadOnlySequence<byte> buffer, out SequencePosition headEnd, out bool complete)
    {
        headEnd = default;
        complete = true;
        if (!MayBeOurs(buffer))
        {
            return null;
        }

        var reader = new SequenceReader<byte>(buffer);
        if (buffer.Length <= UpgradeRequest.Prefix.Length || !reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n\r\n"u8))
        {
            complete = false;
            return null;
        }

        if (reader.Consumed > MaxHeadBytes)
        {
            return null;
        }

        headEnd = reader.Position;
        var length = (int)reader.Consumed;
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            buffer.Slice(0, length).CopyTo(rented);
            return UpgradeRequest.TryParse(rented.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>
    /// <see cref="TryAdmitAsync"/>, except that a failure inside it (say, a JWKS endpoint that is
    /// down) also leaves the request to the HTTP pipeline, which answers it the way it always has.
    /// </summary>
    private async ValueTask<Accepted?> TryAdmitOrDeferAsync(ConnectionContext connection, UpgradeRequest request)
    {
        try
        {
            return await TryAdmitAsync(connection, request);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>The client's identity and connection slot; null (nothing taken) when the HTTP pipeline must answer.</summary>
    private async ValueTask<Accepted?> TryAdmitAsync(ConnectionContext connection, UpgradeRequest request)
    {
        var services = _services!;
        if (!WebSocketEndpoint.TrySelectSubProtocol(request.Protocols, out var subProtocol)
            || !WebSocketEndpoint.OriginAllowed(services.Options, request.Origin))
        {
            return null;
        }

        ClientIdentity identity;
        var token = TokenSources.Find(request.Authorization, AccessToken(request.Query), request.Protocols);
        if (token is null)
        {
            if (services.Auth.Required)
            {
                return null;
            }

            identity = services.Auth.AnonymousIdentity;
        }
        else
        {
            var result = await services.Auth.ValidateAsync(token);
            if (!result.Ok)
            {
                return null;
            }

            identity = result.Identity!;
        }

        var ip = _proxies!.ClientAddress((connection.RemoteEndPoint as IPEndPoint)?.Address, request.ForwardedFor);
        if (services.Manager.TryAdmit(ip, identity.Subject) != AdmissionResult.Admitted)
        {
            return null;
        }

        return new Accepted(identity, subProtocol, ip, WebSocketEndpoint.AcceptKey(request.Key));
    }

    private static string? AccessToken(string? query)
    {
        if (query is null)
        {
            return null;
        }

        var values = QueryHelpers.ParseNullableQuery(query);
        return values is not null && values.TryGetValue("access_token", out var token) && !Microsoft.Extensions.Primitives.StringValues.IsNullOrEmpty(token)
            ? token.ToString()
            : null;
    }

    /// <summary>
    /// The connection's socket when the upgraded stream may write to it directly: Kestrel's socket
    /// transport with nothing (TLS) between the socket and this middleware. Null otherwise, and the
    /// stream writes to the output pipe (so too with <c>Gateway:Outbound:WriteToSocket</c> false).
    /// </summary>
    private System.Net.Sockets.Socket? WritableSocket(ConnectionContext connection)
    {
        if (!_services!.Options.Outbound.WriteToSocket
            || connection.Features.Get<Microsoft.AspNetCore.Connections.Features.ITlsHandshakeFeature>() is not null
            || connection.Features.Get<Microsoft.AspNetCore.Http.Features.ITlsConnectionFeature>() is not null)
        {
            return null;
        }

        return connection.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionSocketFeature>()?.Socket;
    }

    private static byte[] SwitchingProtocols(string acceptKey, string? subProtocol)
    {
        var head = new StringBuilder(160)
            .Append("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: ")
            .Append(acceptKey)
            .Append("\r\n");
        if (subProtocol is not null)
        {
            head.Append("Sec-WebSocket-Protocol: ").Append(subProtocol).Append("\r\n");
        }

        head.Append("\r\n");
        return Encoding.ASCII.GetBytes(head.ToString());
    }

    private sealed record Accepted(ClientIdentity Identity, string? SubProtocol, string Ip, string AcceptKey);

    private sealed class Transport(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
