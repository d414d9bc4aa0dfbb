using System.Runtime.InteropServices;

namespace IocpNet.Native;

// Blittable mirrors of the versioned structs in iocpnet.h, field for field.
// SWIG's C# proxies would reach fields through accessor functions in a
// compiled wrapper; these are passed by pointer straight to the library.
// Their sizes are checked against the struct_size the C _init functions write.

[StructLayout(LayoutKind.Sequential)]
internal struct NativeConfig
{
    public uint struct_size;
    public uint worker_threads;
    public uint backend;
    public uint max_connections;
    public ulong max_send_queue_bytes;
    public uint idle_timeout_ms;
    public uint connect_timeout_ms;
    public uint tcp_nodelay;
    public uint keepalive_s;
}

[StructLayout(LayoutKind.Sequential)]
internal struct NativeConnOptions
{
    public uint struct_size;
    public uint framing;
    public uint max_message_size;
    public uint idle_timeout_ms;
    public uint connect_timeout_ms;
    public uint tcp_nodelay;
    public uint keepalive_s;
    public uint half_open;
    public IntPtr ws_host;     // const char *: not set by the binding yet
    public IntPtr ws_path;
    public IntPtr tls;         // iocpnet_tls *: not set by the binding yet
    public IntPtr server_name; // const char *
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeCallbacks
{
    public uint struct_size;
    public delegate* unmanaged[Cdecl]<IntPtr, IntPtr, ulong, ulong, void> on_accept;
    public delegate* unmanaged[Cdecl]<IntPtr, IntPtr, ulong, int, void> on_connect;
    public delegate* unmanaged[Cdecl]<IntPtr, IntPtr, ulong, byte*, nuint, void> on_data;
    public delegate* unmanaged[Cdecl]<IntPtr, IntPtr, ulong, void> on_drain;
    public delegate* unmanaged[Cdecl]<IntPtr, IntPtr, ulong, int, void> on_close;
    public delegate* unmanaged[Cdecl]<IntPtr, IntPtr, ulong, int, void> on_framing_error;
    public delegate* unmanaged[Cdecl]<IntPtr, IntPtr, ulong, void> on_peer_shutdown;
}

/// <summary>iocpnet_buf: one buffer of iocpnet_sendv.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeBuf
{
    public byte* data;
    public nuint len;
}

[StructLayout(LayoutKind.Sequential)]
internal struct NativeStats
{
    public uint struct_size;
    public uint backend;
    public ulong connections_open;
    public ulong connections_accepted;
    public ulong connections_connected;
    public ulong connections_closed;
    public ulong bytes_received;
    public ulong bytes_sent;
    public ulong send_queue_bytes;
    public ulong tls_handshakes_failed;
}
