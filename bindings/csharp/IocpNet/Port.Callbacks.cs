using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IocpNet.Native;

namespace IocpNet;

// Native code enters .NET only through these static [UnmanagedCallersOnly]
// trampolines: their addresses are plain function pointers (no delegate the
// GC could collect or move), and `user` is a GCHandle to the Port. Each one
// catches every exception, since one escaping into native code kills the process.
public sealed unsafe partial class Port
{
    // The port whose callback this thread is running: Dispose from there would deadlock.
    [ThreadStatic] private static Port? t_current;

    private static void FillCallbacks(NativeCallbacks* cb)
    {
        cb->struct_size = (uint)sizeof(NativeCallbacks);
        cb->on_accept = &OnAcceptNative;
        cb->on_connect = &OnConnectNative;
        cb->on_data = &OnDataNative;
        cb->on_drain = &OnDrainNative;
        cb->on_close = &OnCloseNative;
        cb->on_framing_error = &OnFramingErrorNative;
        cb->on_peer_shutdown = &OnPeerShutdownNative;
    }

    private static Port FromUser(IntPtr user) => (Port)GCHandle.FromIntPtr(user).Target!;

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnAcceptNative(IntPtr user, IntPtr port, ulong listener, ulong conn)
    {
        Port? self = null;
        Port? outer = t_current;
        try
        {
            self = t_current = FromUser(user);
            self._handler.OnAccept(self, listener, new ConnectionId(conn));
        }
        catch (Exception ex) { Fail(self, ex, "OnAccept", conn, close: true); }
        finally { t_current = outer; }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnConnectNative(IntPtr user, IntPtr port, ulong conn, int status)
    {
        Port? self = null;
        Port? outer = t_current;
        try
        {
            self = t_current = FromUser(user);
            self._handler.OnConnect(self, new ConnectionId(conn), (ErrorCode)status);
        }
        catch (Exception ex) { Fail(self, ex, "OnConnect", conn, close: status == 0); }
        finally
        {
            // A failed connect gets no OnClose: this is its last callback.
            if (status != 0)
                self?.EndOfLife(conn);
            t_current = outer;
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnDataNative(IntPtr user, IntPtr port, ulong conn, byte* data, nuint len)
    {
        Port? self = null;
        Port? outer = t_current;
        try
        {
            self = t_current = FromUser(user);
            self._handler.OnData(self, new ConnectionId(conn), new ReadOnlySpan<byte>(data, checked((int)len)));
        }
        catch (Exception ex) { Fail(self, ex, "OnData", conn, close: true); }
        finally { t_current = outer; }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnDrainNative(IntPtr user, IntPtr port, ulong conn)
    {
        Port? self = null;
        Port? outer = t_current;
        try
        {
            self = t_current = FromUser(user);
            self._handler.OnDrain(self, new ConnectionId(conn));
        }
        catch (Exception ex) { Fail(self, ex, "OnDrain", conn, close: true); }
        finally { t_current = outer; }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnCloseNative(IntPtr user, IntPtr port, ulong conn, int reason)
    {
        Port? self = null;
        Port? outer = t_current;
        try
        {
            self = t_current = FromUser(user);
            self._handler.OnClose(self, new ConnectionId(conn), (ErrorCode)reason);
        }
        catch (Exception ex) { Fail(self, ex, "OnClose", conn, close: false); }
        finally
        {
            self?.EndOfLife(conn); // the id is dead now
            t_current = outer;
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnFramingErrorNative(IntPtr user, IntPtr port, ulong conn, int err)
    {
        Port? self = null;
        Port? outer = t_current;
        try
        {
            self = t_current = FromUser(user);
            self._handler.OnFramingError(self, new ConnectionId(conn), (ErrorCode)err);
        }
        catch (Exception ex) { Fail(self, ex, "OnFramingError", conn, close: true); }
        finally { t_current = outer; }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnPeerShutdownNative(IntPtr user, IntPtr port, ulong conn)
    {
        Port? self = null;
        Port? outer = t_current;
        try
        {
            self = t_current = FromUser(user);
            self._handler.OnPeerShutdown(self, new ConnectionId(conn));
        }
        catch (Exception ex) { Fail(self, ex, "OnPeerShutdown", conn, close: true); }
        finally { t_current = outer; }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnPostNative(IntPtr arg)
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
        catch (Exception ex) { Fail(self, ex, "Post", 0, close: false); }
        finally { t_current = outer; }
    }

    // Reports a handler's exception; must not throw itself (it runs under a trampoline).
    private static void Fail(Port? self, Exception ex, string callback, ulong conn, bool close)
    {
        try
        {
            if (self is null)
                return; // no port to report to (a broken GCHandle): dropping is all that is safe
            IntPtr h = Volatile.Read(ref self._handle);
            if (close && conn != 0 && h != IntPtr.Zero)
                NativeApi.iocpnet_close(h, conn, NativeApi.IOCPNET_CLOSE_ABORT); // NotFound if already closing: fine
            var args = new HandlerExceptionEventArgs(ex, callback, conn != 0 ? new ConnectionId(conn) : null);
            EventHandler<HandlerExceptionEventArgs>? subscribers = self.UnhandledHandlerException;
            if (subscribers is null)
                Console.Error.WriteLine($"iocpnet: unhandled exception in {callback}: {ex}");
            else
                subscribers(self, args);
        }
        catch
        {
            // The reporter threw as well; swallowing is the only option that keeps the process alive.
        }
    }
}
