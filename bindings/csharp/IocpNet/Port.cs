using System.Runtime.InteropServices;
using IocpNet.Native;

namespace IocpNet;

/// <summary>
/// An iocpnet engine instance: worker threads, listeners and connections,
/// whose events go to an <see cref="IPortHandler"/>. Members may be called from
/// any thread, including from inside a handler, except <see cref="Dispose"/>.
/// Calls other than from handlers must not race with <see cref="Dispose"/>.
/// </summary>
public sealed unsafe partial class Port : IDisposable
{
    private const string DisposeInHandlerMessage =
        "Port.Dispose was called from inside one of this port's handlers (or a posted action); " +
        "the engine cannot wait for the callback it is running in. Dispose the port from another thread.";

    private readonly IPortHandler _handler;
    private readonly object _disposeLock = new();
    private GCHandle _self; // the `user` pointer of every callback: keeps this object reachable for native code
    private NativeCallbacks* _callbacks; // native memory: stable for the port's life whatever the engine keeps
    private IntPtr _handle;

    /// <summary>Creates a port and starts its worker threads.</summary>
    /// <param name="handler">Receives the port's events.</param>
    /// <param name="options">Configuration; null = defaults.</param>
    /// <exception cref="IocpNetException">The engine refused (e.g. Unsupported backend).</exception>
    public Port(IPortHandler handler, PortOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _handler = handler;
        NativeConfig cfg = (options ?? new PortOptions()).ToNative();
        _self = GCHandle.Alloc(this);
        _callbacks = (NativeCallbacks*)NativeMemory.AllocZeroed((nuint)sizeof(NativeCallbacks));
        FillCallbacks(_callbacks);
        int rc = NativeApi.iocpnet_port_create(&cfg, _callbacks, GCHandle.ToIntPtr(_self), out IntPtr handle);
        if (rc < 0)
        {
            IocpNetException ex = IocpNetException.FromCode(rc, "Port creation");
            ReleaseManaged();
            throw ex;
        }
        _handle = handle;
    }

    /// <summary>Raised when a handler throws; the exception never reaches native code, and its connection is aborted.
    /// Without a subscriber the exception is written to standard error.</summary>
    public event EventHandler<HandlerExceptionEventArgs>? UnhandledHandlerException;

    /// <summary>The version of the loaded native library, e.g. 1.0.0.</summary>
    public static Version NativeVersion
    {
        get
        {
            uint v = NativeApi.iocpnet_version();
            return new Version((int)(v >> 16), (int)((v >> 8) & 0xFF), (int)(v & 0xFF));
        }
    }

    private IntPtr Handle
    {
        get
        {
            IntPtr h = Volatile.Read(ref _handle);
            ObjectDisposedException.ThrowIf(h == IntPtr.Zero, this);
            return h;
        }
    }

    /// <summary>Listens on host:port; accepted connections are reported to <see cref="IPortHandler.OnAccept"/>.</summary>
    /// <param name="host">"0.0.0.0", "::", "127.0.0.1", "localhost", or null for all IPv4 addresses.</param>
    /// <param name="port">TCP port; 0 picks a free one (see <see cref="Listener.Port"/>).</param>
    /// <param name="options">Options of every accepted connection (framing, timeouts); null = the port's.</param>
    /// <returns>The listener with the port it is bound to.</returns>
    /// <exception cref="IocpNetException">AddrInvalid, AddrInUse, ShuttingDown, System.</exception>
    public Listener Listen(string? host, int port, ConnectionOptions? options = null)
    {
        ushort tcpPort = CheckTcpPort(port);
        IntPtr h = Handle;
        int rc;
        ulong id;
        if (options is null)
        {
            rc = NativeApi.iocpnet_listen(h, host, tcpPort, out id);
        }
        else
        {
            NativeConnOptions opt = options.ToNative();
            using NativeOptionStrings pins = options.PinExtras(ref opt); // TLS reference and strings: for this call
            rc = NativeApi.iocpnet_listen_ex(h, host, tcpPort, &opt, out id);
        }
        IocpNetException.Check(rc, "Listen");
        IocpNetException.Check(NativeApi.iocpnet_listener_port(h, id, out ushort bound), "Listen");
        return new Listener(id, bound);
    }

    /// <summary>Stops accepting on a listener; the connections it accepted stay open.</summary>
    /// <param name="listener">The listener.</param>
    /// <exception cref="IocpNetException">NotFound.</exception>
    public void Unlisten(Listener listener) =>
        IocpNetException.Check(NativeApi.iocpnet_unlisten(Handle, listener.Id), "Unlisten");

    /// <summary>Starts connecting; <see cref="IPortHandler.OnConnect"/> reports the outcome. Sends before it are queued.</summary>
    /// <param name="host">A name or address (a name is resolved on the calling thread).</param>
    /// <param name="port">TCP port.</param>
    /// <param name="options">Framing and timeouts of this connection; null = the port's.</param>
    /// <returns>The new connection's id.</returns>
    /// <exception cref="IocpNetException">AddrInvalid, Limit, ShuttingDown, System.</exception>
    public ConnectionId Connect(string host, int port, ConnectionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ushort tcpPort = CheckTcpPort(port);
        IntPtr h = Handle;
        int rc;
        ulong id;
        if (options is null)
        {
            rc = NativeApi.iocpnet_connect(h, host, tcpPort, out id);
        }
        else
        {
            NativeConnOptions opt = options.ToNative();
            using NativeOptionStrings pins = options.PinExtras(ref opt); // TLS reference and strings: for this call
            rc = NativeApi.iocpnet_connect_ex(h, host, tcpPort, &opt, out id);
        }
        IocpNetException.Check(rc, "Connect");
        return new ConnectionId(id);
    }

    /// <summary>Copies <paramref name="data"/> into the connection's send queue (adding the frame header or "\n" if framed).</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="data">The bytes; copied before the call returns.</param>
    /// <exception cref="IocpNetException">NotFound, WouldBlock (queue full: see <see cref="TrySend(ConnectionId, ReadOnlySpan{byte})"/>), Limit, InvalidArg.</exception>
    public void Send(ConnectionId connection, ReadOnlySpan<byte> data) =>
        IocpNetException.Check(SendCore(connection, data), "Send");

    /// <summary>As <see cref="Send(ConnectionId, ReadOnlySpan{byte})"/>, but a full send queue returns false instead of throwing;
    /// <see cref="IPortHandler.OnDrain"/> follows once the queue is down to half.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="data">The bytes; copied before the call returns.</param>
    /// <returns>True when queued; false when the queue is full (nothing was queued).</returns>
    /// <exception cref="IocpNetException">Any failure other than WouldBlock.</exception>
    public bool TrySend(ConnectionId connection, ReadOnlySpan<byte> data)
    {
        int rc = SendCore(connection, data);
        if (rc == NativeApi.IOCPNET_E_WOULD_BLOCK)
            return false;
        IocpNetException.Check(rc, "TrySend");
        return true;
    }

    private int SendCore(ConnectionId connection, ReadOnlySpan<byte> data)
    {
        IntPtr h = Handle;
        fixed (byte* p = data)
            return NativeApi.iocpnet_send(h, connection.Value, p, (nuint)data.Length);
    }

    /// <summary>Sends one payload to many connections, sharing one copy; unknown, closed or full receivers are skipped.</summary>
    /// <param name="connections">The receivers.</param>
    /// <param name="data">The payload (framed per receiver as in <see cref="Send(ConnectionId, ReadOnlySpan{byte})"/>).</param>
    /// <returns>How many receivers got it.</returns>
    /// <exception cref="IocpNetException">NoMemory, InvalidArg.</exception>
    public int SendMany(ReadOnlySpan<ConnectionId> connections, ReadOnlySpan<byte> data)
    {
        IntPtr h = Handle;
        ReadOnlySpan<ulong> ids = MemoryMarshal.Cast<ConnectionId, ulong>(connections);
        int rc;
        nuint queued;
        fixed (ulong* c = ids)
        fixed (byte* p = data)
            rc = NativeApi.iocpnet_send_many(h, c, (nuint)ids.Length, p, (nuint)data.Length, out queued);
        IocpNetException.Check(rc, "SendMany");
        return (int)queued;
    }

    /// <summary>Closes a connection; only <see cref="IPortHandler.OnClose"/> (reason Ok) follows.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="mode">Graceful (flush, then shut down) or Abort (drop the queue, reset).</param>
    /// <exception cref="IocpNetException">NotFound.</exception>
    public void Close(ConnectionId connection, CloseMode mode = CloseMode.Graceful) =>
        IocpNetException.Check(NativeApi.iocpnet_close(Handle, connection.Value, (int)mode), "Close");

    /// <summary>Runs <paramref name="action"/> once on one of the port's worker threads.
    /// An exception it throws is reported through <see cref="UnhandledHandlerException"/>.</summary>
    /// <param name="action">The work.</param>
    /// <exception cref="IocpNetException">ShuttingDown (the action will not run).</exception>
    public void Post(Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        IntPtr h = Handle;
        GCHandle item = GCHandle.Alloc(new PostItem(this, action));
        int rc = NativeApi.iocpnet_post(h, &OnPostNative, GCHandle.ToIntPtr(item));
        if (rc < 0)
        {
            IocpNetException ex = IocpNetException.FromCode(rc, "Post");
            item.Free();
            throw ex;
        }
    }

    /// <summary>A fresh snapshot of the port's counters at each read.</summary>
    public PortStats Stats
    {
        get
        {
            NativeStats s = default;
            s.struct_size = (uint)sizeof(NativeStats);
            IocpNetException.Check(NativeApi.iocpnet_get_stats(Handle, &s), "Stats");
            return new PortStats((Backend)s.backend, (long)s.connections_open, (long)s.connections_accepted,
                (long)s.connections_connected, (long)s.connections_closed, (long)s.bytes_received,
                (long)s.bytes_sent, (long)s.send_queue_bytes) { TlsHandshakesFailed = (long)s.tls_handshakes_failed };
        }
    }

    /// <summary>The peer's address as text, e.g. "127.0.0.1:9034" or "[::1]:9034".</summary>
    /// <param name="connection">The connection.</param>
    /// <returns>The address.</returns>
    /// <exception cref="IocpNetException">NotFound, System (not connected yet).</exception>
    public string GetPeerAddress(ConnectionId connection)
    {
        byte* buf = stackalloc byte[NativeApi.IOCPNET_ADDRSTRLEN];
        IocpNetException.Check(NativeApi.iocpnet_conn_peer_address(Handle, connection.Value, buf, NativeApi.IOCPNET_ADDRSTRLEN), "GetPeerAddress");
        return Marshal.PtrToStringUTF8((IntPtr)buf) ?? "";
    }

    /// <summary>The local address of a connection as text, e.g. "127.0.0.1:41234".</summary>
    /// <param name="connection">The connection.</param>
    /// <returns>The address.</returns>
    /// <exception cref="IocpNetException">NotFound, System (not connected yet).</exception>
    public string GetLocalAddress(ConnectionId connection)
    {
        byte* buf = stackalloc byte[NativeApi.IOCPNET_ADDRSTRLEN];
        IocpNetException.Check(NativeApi.iocpnet_conn_local_address(Handle, connection.Value, buf, NativeApi.IOCPNET_ADDRSTRLEN), "GetLocalAddress");
        return Marshal.PtrToStringUTF8((IntPtr)buf) ?? "";
    }

    /// <summary>
    /// Stops the listeners, closes every connection (OnClose runs for each, reason Ok), waits for
    /// callbacks in flight, joins the workers and frees the port. Calling it again does nothing.
    /// </summary>
    /// <exception cref="InvalidOperationException">Called from inside one of this port's handlers.</exception>
    public void Dispose()
    {
        if (t_current == this)
            throw new InvalidOperationException(DisposeInHandlerMessage);
        lock (_disposeLock)
        {
            IntPtr h = _handle;
            if (h == IntPtr.Zero)
                return;
            int rc = NativeApi.iocpnet_port_destroy(h);
            if (rc == NativeApi.IOCPNET_E_IN_CALLBACK)
                throw new InvalidOperationException(DisposeInHandlerMessage);
            IocpNetException.Check(rc, "Dispose");
            Volatile.Write(ref _handle, IntPtr.Zero);
            ReleaseManaged();
        }
    }

    private void ReleaseManaged()
    {
        if (_self.IsAllocated)
            _self.Free();
        NativeMemory.Free(_callbacks);
        _callbacks = null;
        ClearUserState();
        // The engine stopped every timer: their actions need not be kept alive any longer.
        PortTimer.Forget(_timers.Keys);
        _timers.Clear();
    }

    private static ushort CheckTcpPort(int port)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, ushort.MaxValue);
        return (ushort)port;
    }

    private sealed record PostItem(Port Port, Action Action);
}
