using System.Runtime.InteropServices;
using IocpNet.Native;

namespace IocpNet;

// TLS and WebSocket settings of ConnectionOptions (iocpnet_conn_options.tls,
// .server_name, .ws_host, .ws_path), and how they reach the engine.
public sealed partial class ConnectionOptions
{
    /// <summary>TLS on these connections with this configuration (its <see cref="TlsConfig.Role"/> must be
    /// <see cref="TlsRole.Server"/> for <see cref="Port.Listen"/>, <see cref="TlsRole.Client"/> for
    /// <see cref="Port.Connect"/>); null (default) = plain TCP. The listener or connection keeps its own reference,
    /// so the <see cref="TlsConfig"/> may be disposed after the call. With <see cref="Framing.WebSocket"/> this is wss.</summary>
    public TlsConfig? Tls { get; set; }

    /// <summary>Client: the name sent as SNI and verified in the server's certificate; null = the host given to
    /// <see cref="Port.Connect"/>.</summary>
    public string? ServerName { get; set; }

    /// <summary>WebSocket client: the Host header of the upgrade request; null = "host:port" as given to
    /// <see cref="Port.Connect"/>.</summary>
    public string? WsHost { get; set; }

    /// <summary>WebSocket client: the request path, e.g. "/chat?room=1"; null = "/".</summary>
    public string? WsPath { get; set; }

    /// <summary>Fills the pointer fields of <paramref name="opt"/>: UTF-8 copies of the strings and a reference on
    /// the TLS configuration, both held until the returned value is disposed (right after listen_ex/connect_ex,
    /// which copy the strings and take their own reference).</summary>
    internal NativeOptionStrings PinExtras(ref NativeConnOptions opt)
    {
        var pins = new NativeOptionStrings();
        try
        {
            if (Tls is not null)
            {
                opt.tls = Tls.AddRef();
                pins.Tls = Tls;
            }
            opt.server_name = pins.ServerName = Utf8(ServerName);
            opt.ws_host = pins.WsHost = Utf8(WsHost);
            opt.ws_path = pins.WsPath = Utf8(WsPath);
            return pins;
        }
        catch
        {
            pins.Dispose();
            throw;
        }
    }

    private static IntPtr Utf8(string? s) => s is null ? IntPtr.Zero : Marshal.StringToCoTaskMemUTF8(s);
}

/// <summary>What <see cref="ConnectionOptions.PinExtras"/> keeps alive for one engine call.</summary>
internal struct NativeOptionStrings : IDisposable
{
    public TlsConfig? Tls;
    public IntPtr ServerName, WsHost, WsPath;

    public void Dispose()
    {
        Marshal.FreeCoTaskMem(ServerName); // Zero is ignored
        Marshal.FreeCoTaskMem(WsHost);
        Marshal.FreeCoTaskMem(WsPath);
        ServerName = WsHost = WsPath = IntPtr.Zero;
        Tls?.Release();
        Tls = null;
    }
}
