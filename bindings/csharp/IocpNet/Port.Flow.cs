using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IocpNet.Native;

namespace IocpNet;

// Receive flow control, half-close, vectored and zero-copy sends and
// per-connection posts (iocpnet_pause_recv ... iocpnet_conn_post).
public sealed unsafe partial class Port
{
    /// <summary>Stops reading from the connection: no <see cref="IPortHandler.OnData"/> starts after this returns
    /// (except one already being delivered on another thread), bytes stay in the kernel so TCP slows the peer down,
    /// and the idle timeout does not run. Bytes already read are kept and delivered, in order, after
    /// <see cref="ResumeReceive"/>. Idempotent.</summary>
    /// <param name="connection">The connection.</param>
    /// <exception cref="IocpNetException">NotFound.</exception>
    public void PauseReceive(ConnectionId connection) =>
        IocpNetException.Check(NativeApi.iocpnet_pause_recv(Handle, connection.Value), "PauseReceive");

    /// <summary>Starts reading again after <see cref="PauseReceive"/>; held bytes are delivered first, on a worker
    /// (never inside this call). Idempotent.</summary>
    /// <param name="connection">The connection.</param>
    /// <exception cref="IocpNetException">NotFound.</exception>
    public void ResumeReceive(ConnectionId connection) =>
        IocpNetException.Check(NativeApi.iocpnet_resume_recv(Handle, connection.Value), "ResumeReceive");

    /// <summary>Bytes queued on the connection (payload and framing) that the system has not taken yet:
    /// what counts toward <see cref="PortOptions.MaxSendQueueBytes"/>.</summary>
    /// <param name="connection">The connection.</param>
    /// <returns>The byte count.</returns>
    /// <exception cref="IocpNetException">NotFound.</exception>
    public long GetQueuedBytes(ConnectionId connection)
    {
        IocpNetException.Check(NativeApi.iocpnet_conn_queued_bytes(Handle, connection.Value, out ulong n), "GetQueuedBytes");
        return checked((long)n);
    }

    /// <summary>Half-close: once everything queued is sent, shuts down the write side (the peer reads EOF);
    /// the connection keeps receiving. Later sends fail with <see cref="ErrorCode.WriteShutdown"/>. With
    /// <see cref="ConnectionOptions.HalfOpen"/> the connection closes once the peer has shut down too
    /// (<see cref="IPortHandler.OnPeerShutdown"/>). Idempotent.</summary>
    /// <param name="connection">The connection.</param>
    /// <exception cref="IocpNetException">NotFound.</exception>
    public void ShutdownWrite(ConnectionId connection) =>
        IocpNetException.Check(NativeApi.iocpnet_shutdown_write(Handle, connection.Value), "ShutdownWrite");

    /// <summary>Sends several buffers as one message (framing applies to their concatenation), copied and
    /// queued all or nothing.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="buffers">The parts, in order; copied before the call returns.</param>
    /// <exception cref="IocpNetException">As <see cref="Send(ConnectionId, ReadOnlySpan{byte})"/>, and WriteShutdown.</exception>
    public void Send(ConnectionId connection, IList<ArraySegment<byte>> buffers) =>
        IocpNetException.Check(SendVectorCore(connection, Segments(buffers)), "Send");

    /// <summary>As <see cref="Send(ConnectionId, IList{ArraySegment{byte}})"/>, but a full send queue returns false
    /// (nothing was queued; <see cref="IPortHandler.OnDrain"/> follows).</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="buffers">The parts, in order.</param>
    /// <returns>True when queued.</returns>
    /// <exception cref="IocpNetException">Any failure other than WouldBlock.</exception>
    public bool TrySend(ConnectionId connection, IList<ArraySegment<byte>> buffers) =>
        Accepted(SendVectorCore(connection, Segments(buffers)), "TrySend");

    /// <summary>Sends several buffers as one message, copied and queued all or nothing.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="buffers">The parts, in order; copied before the call returns.</param>
    /// <exception cref="IocpNetException">As <see cref="Send(ConnectionId, ReadOnlySpan{byte})"/>, and WriteShutdown.</exception>
    public void Send(ConnectionId connection, ReadOnlySpan<ReadOnlyMemory<byte>> buffers) =>
        IocpNetException.Check(SendVectorCore(connection, buffers), "Send");

    /// <summary>As <see cref="Send(ConnectionId, ReadOnlySpan{ReadOnlyMemory{byte}})"/>, but a full send queue returns false.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="buffers">The parts, in order.</param>
    /// <returns>True when queued.</returns>
    /// <exception cref="IocpNetException">Any failure other than WouldBlock.</exception>
    public bool TrySend(ConnectionId connection, ReadOnlySpan<ReadOnlyMemory<byte>> buffers) =>
        Accepted(SendVectorCore(connection, buffers), "TrySend");

    private static ReadOnlyMemory<byte>[] Segments(IList<ArraySegment<byte>> buffers)
    {
        ArgumentNullException.ThrowIfNull(buffers);
        var parts = new ReadOnlyMemory<byte>[buffers.Count];
        for (int i = 0; i < parts.Length; i++)
            parts[i] = buffers[i]; // an ArraySegment is a ReadOnlyMemory of its array
        return parts;
    }

    private int SendVectorCore(ConnectionId connection, ReadOnlySpan<ReadOnlyMemory<byte>> buffers)
    {
        IntPtr h = Handle;
        int n = buffers.Length;
        // Each part is pinned only for the call: sendv copies before it returns.
        MemoryHandle[] pins = ArrayPool<MemoryHandle>.Shared.Rent(n);
        NativeBuf[] bufs = ArrayPool<NativeBuf>.Shared.Rent(n);
        int pinned = 0;
        try
        {
            for (; pinned < n; pinned++)
            {
                pins[pinned] = buffers[pinned].Pin();
                bufs[pinned] = new NativeBuf { data = (byte*)pins[pinned].Pointer, len = (nuint)buffers[pinned].Length };
            }
            fixed (NativeBuf* b = bufs)
                return NativeApi.iocpnet_sendv(h, connection.Value, b, (nuint)n);
        }
        finally
        {
            for (int i = 0; i < pinned; i++)
                pins[i].Dispose();
            ArrayPool<MemoryHandle>.Shared.Return(pins, clearArray: true);
            ArrayPool<NativeBuf>.Shared.Return(bufs);
        }
    }

    private static bool Accepted(int rc, string operation)
    {
        if (rc == NativeApi.IOCPNET_E_WOULD_BLOCK)
            return false;
        IocpNetException.Check(rc, operation);
        return true;
    }

    /// <summary>
    /// Zero-copy send: the engine queues <paramref name="data"/> without copying it. The memory stays pinned
    /// (<see cref="ReadOnlyMemory{T}.Pin"/>) and referenced until the engine no longer needs it — sent, or dropped
    /// by a close or <see cref="Dispose"/> — then it is unpinned and <paramref name="released"/> runs, exactly once,
    /// on a worker thread (or inside this call when the engine had to copy the bytes anyway, e.g. for a TLS layer).
    /// Do not change the bytes before that. When the call fails (an exception), nothing is
    /// kept and <paramref name="released"/> never runs. An exception <paramref name="released"/> throws is reported
    /// through <see cref="UnhandledHandlerException"/> (callback "SendOwned").
    /// </summary>
    /// <param name="connection">The connection.</param>
    /// <param name="data">The bytes (framing is added as by <see cref="Send(ConnectionId, ReadOnlySpan{byte})"/>).</param>
    /// <param name="released">Called once the engine has let go of <paramref name="data"/>; may be null.</param>
    /// <exception cref="IocpNetException">As <see cref="Send(ConnectionId, ReadOnlySpan{byte})"/>, and WriteShutdown.</exception>
    public void SendOwned(ConnectionId connection, ReadOnlyMemory<byte> data, Action<ReadOnlyMemory<byte>>? released = null) =>
        IocpNetException.Check(SendOwnedCore(connection, data, released), "SendOwned");

    /// <summary>As <see cref="SendOwned"/>, but a full send queue returns false (nothing was kept, <paramref name="released"/>
    /// will not run, and <see cref="IPortHandler.OnDrain"/> follows).</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="data">The bytes.</param>
    /// <param name="released">Called once the engine has let go of <paramref name="data"/>; may be null.</param>
    /// <returns>True when queued.</returns>
    /// <exception cref="IocpNetException">Any failure other than WouldBlock.</exception>
    public bool TrySendOwned(ConnectionId connection, ReadOnlyMemory<byte> data, Action<ReadOnlyMemory<byte>>? released = null) =>
        Accepted(SendOwnedCore(connection, data, released), "TrySendOwned");

    private int SendOwnedCore(ConnectionId connection, ReadOnlyMemory<byte> data, Action<ReadOnlyMemory<byte>>? released)
    {
        IntPtr h = Handle;
        MemoryHandle pin = data.Pin();
        // The GCHandle keeps the memory's owner (and the callback) reachable until the free callback.
        GCHandle item = GCHandle.Alloc(new OwnedSend(this, data, pin, released));
        int rc = NativeApi.iocpnet_send_owned(h, connection.Value, (byte*)pin.Pointer, (nuint)data.Length,
            &OnOwnedFreeNative, GCHandle.ToIntPtr(item));
        if (rc < 0)
        {
            // The engine keeps nothing and will not call back: undo here.
            item.Free();
            pin.Dispose();
        }
        return rc;
    }

    /// <summary>Runs <paramref name="action"/> exactly once on the connection's worker, serialized with its handler
    /// calls (never at the same time as them, never inside this call) and before its last one: if the connection
    /// closes first, the action runs just before <see cref="IPortHandler.OnClose"/>. The action is kept alive until
    /// it has run. An exception it throws is reported through <see cref="UnhandledHandlerException"/>
    /// (callback "Post") and aborts the connection, as for a handler.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="action">The work.</param>
    /// <exception cref="IocpNetException">NotFound (closing or closed: the action will not run), ShuttingDown.</exception>
    public void Post(ConnectionId connection, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        IntPtr h = Handle;
        GCHandle item = GCHandle.Alloc(new PostItem(this, action));
        int rc = NativeApi.iocpnet_conn_post(h, connection.Value, &OnConnPostNative, GCHandle.ToIntPtr(item));
        if (rc < 0)
        {
            IocpNetException ex = IocpNetException.FromCode(rc, "Post");
            item.Free();
            throw ex;
        }
    }

    private sealed record OwnedSend(Port Port, ReadOnlyMemory<byte> Data, MemoryHandle Pin, Action<ReadOnlyMemory<byte>>? Released);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnOwnedFreeNative(IntPtr arg, byte* data)
    {
        Port? self = null;
        Port? outer = t_current;
        try
        {
            GCHandle handle = GCHandle.FromIntPtr(arg);
            var item = (OwnedSend)handle.Target!;
            handle.Free();
            item.Pin.Dispose();
            self = t_current = item.Port; // a worker, or the thread inside SendOwned: no Dispose from here either way
            item.Released?.Invoke(item.Data);
        }
        catch (Exception ex) { Fail(self, ex, "SendOwned", 0, close: false); }
        finally { t_current = outer; }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnConnPostNative(IntPtr arg, IntPtr port, ulong conn)
    {
        Port? self = null;
        Port? outer = t_current;
        try
        {
            GCHandle handle = GCHandle.FromIntPtr(arg);
            var item = (PostItem)handle.Target!;
            handle.Free();
            self = t_current = item.Port;
            item.Action();
        }
        catch (Exception ex) { Fail(self, ex, "Post", conn, close: true); }
        finally { t_current = outer; }
    }
}
