using System.Runtime.InteropServices;
using System.Text;
using IocpNet.Native;

namespace IocpNet;

// TLS session facts and the WebSocket calls (iocpnet_conn_tls_info,
// iocpnet_ws_*). Strings come back from the engine as NUL-terminated UTF-8.
public sealed unsafe partial class Port
{
    /// <summary>The TLS session of a connection: version, cipher, ALPN protocol and peer subject once the handshake
    /// is done, the error text once it failed. Readable while the connection is open or closing, and inside its
    /// <see cref="IPortHandler.OnClose"/> or failed <see cref="IPortHandler.OnConnect"/>.</summary>
    /// <param name="connection">A connection made with <see cref="ConnectionOptions.Tls"/>.</param>
    /// <returns>The facts ("" for what is not known).</returns>
    /// <exception cref="IocpNetException">NotFound, Unsupported (a plain TCP connection).</exception>
    public TlsInfo GetTlsInfo(ConnectionId connection)
    {
        IntPtr h = Handle;
        return new TlsInfo(
            TlsFact(h, connection, NativeApi.IOCPNET_TLS_INFO_VERSION),
            TlsFact(h, connection, NativeApi.IOCPNET_TLS_INFO_CIPHER),
            TlsFact(h, connection, NativeApi.IOCPNET_TLS_INFO_ALPN),
            TlsFact(h, connection, NativeApi.IOCPNET_TLS_INFO_PEER_SUBJECT),
            TlsFact(h, connection, NativeApi.IOCPNET_TLS_INFO_ERROR));
    }

    private static string TlsFact(IntPtr h, ConnectionId connection, int what) =>
        ReadString((buf, len) => NativeApi.iocpnet_conn_tls_info(h, connection.Value, (uint)what, buf, len), "GetTlsInfo");

    /// <summary>Whether later sends on a WebSocket connection go as text or binary messages (default binary).
    /// The engine does not check that sent text is UTF-8.</summary>
    /// <param name="connection">A <see cref="Framing.WebSocket"/> connection.</param>
    /// <param name="type"><see cref="WsMessageType.Text"/> or <see cref="WsMessageType.Binary"/>.</param>
    /// <exception cref="IocpNetException">NotFound, InvalidArg (not a WebSocket connection, or type None).</exception>
    public void SetWebSocketSendType(ConnectionId connection, WsMessageType type) =>
        IocpNetException.Check(NativeApi.iocpnet_ws_set_send_type(Handle, connection.Value, (uint)type), "SetWebSocketSendType");

    /// <summary>The type of the message being delivered: call it inside <see cref="IPortHandler.OnData"/>
    /// (elsewhere it is the last one delivered, <see cref="WsMessageType.None"/> before any).</summary>
    /// <param name="connection">A <see cref="Framing.WebSocket"/> connection.</param>
    /// <returns>Text or Binary.</returns>
    /// <exception cref="IocpNetException">NotFound, InvalidArg (not a WebSocket connection).</exception>
    public WsMessageType GetWebSocketMessageType(ConnectionId connection)
    {
        IocpNetException.Check(NativeApi.iocpnet_ws_message_type(Handle, connection.Value, out uint type), "GetWebSocketMessageType");
        return (WsMessageType)type;
    }

    /// <summary>The request target of an accepted WebSocket connection as sent, e.g. "/chat?room=1";
    /// from <see cref="IPortHandler.OnAccept"/> until its OnClose returned.</summary>
    /// <param name="connection">A connection accepted by a <see cref="Framing.WebSocket"/> listener.</param>
    /// <returns>The path and query.</returns>
    /// <exception cref="IocpNetException">NotFound, InvalidArg (not an accepted WebSocket connection).</exception>
    public string GetWebSocketRequestPath(ConnectionId connection)
    {
        IntPtr h = Handle;
        return ReadString((buf, len) => NativeApi.iocpnet_ws_request_path(h, connection.Value, buf, len), "GetWebSocketRequestPath");
    }

    /// <summary>The value of the first upgrade-request header called <paramref name="name"/> (case-insensitive),
    /// e.g. "Origin"; null when the request had none.</summary>
    /// <param name="connection">A connection accepted by a <see cref="Framing.WebSocket"/> listener.</param>
    /// <param name="name">The header name.</param>
    /// <returns>The value, or null.</returns>
    /// <exception cref="IocpNetException">NotFound (unknown or closed connection), InvalidArg (not an accepted
    /// WebSocket connection).</exception>
    public string? GetWebSocketRequestHeader(ConnectionId connection, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        IntPtr h = Handle;
        int rc = 0;
        string value = ReadString((buf, len) => rc = NativeApi.iocpnet_ws_request_header(h, connection.Value, name, buf, len),
            "GetWebSocketRequestHeader", tolerateNotFound: true);
        if (rc != NativeApi.IOCPNET_E_NOT_FOUND)
            return value;
        // NOT_FOUND means either "no such header" or "no such connection": the path tells them apart.
        GetWebSocketRequestPath(connection); // throws NotFound for a connection that is gone
        return null;
    }

    /// <summary>Registers a page that a plain HTTP GET of <paramref name="path"/> (exact match, query ignored) on a
    /// WebSocket listener is answered with ("200 OK"); any other GET gets "404 Not Found". The body is copied; a
    /// second call for the same path replaces it. Applies to requests parsed after it returns.</summary>
    /// <param name="listener">A listener made with <see cref="Framing.WebSocket"/>.</param>
    /// <param name="path">Starts with '/', e.g. "/" or "/index.html".</param>
    /// <param name="contentType">e.g. "text/html; charset=utf-8".</param>
    /// <param name="body">The page's bytes.</param>
    /// <exception cref="IocpNetException">NotFound (listener), InvalidArg (not a WebSocket listener, path not
    /// starting with '/').</exception>
    public void AddPage(Listener listener, string path, string contentType, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(contentType);
        IntPtr h = Handle;
        fixed (byte* p = body) // an empty body gives NULL with length 0, which the engine accepts
            IocpNetException.Check(NativeApi.iocpnet_ws_add_page(h, listener.Id, path, contentType, p, (nuint)body.Length), "AddPage");
    }

    /// <summary>As <see cref="AddPage(Listener, string, string, ReadOnlySpan{byte})"/> with a text body sent as UTF-8.</summary>
    /// <param name="listener">A listener made with <see cref="Framing.WebSocket"/>.</param>
    /// <param name="path">Starts with '/'.</param>
    /// <param name="contentType">e.g. "text/html; charset=utf-8".</param>
    /// <param name="body">The page's text.</param>
    /// <exception cref="IocpNetException">As the byte overload.</exception>
    public void AddPage(Listener listener, string path, string contentType, string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        AddPage(listener, path, contentType, Encoding.UTF8.GetBytes(body));
    }

    private delegate int StringCall(byte* buf, nuint len);

    // Calls fn with a growing buffer until the string fits (LIMIT means "too small").
    private static string ReadString(StringCall fn, string operation, bool tolerateNotFound = false)
    {
        const int StackSize = 256;
        byte* small = stackalloc byte[StackSize];
        int rc = fn(small, StackSize);
        if (rc == 0)
            return Marshal.PtrToStringUTF8((IntPtr)small) ?? "";
        for (int size = 4096; rc == NativeApi.IOCPNET_E_LIMIT && size <= 1 << 20; size *= 16)
        {
            byte[] big = new byte[size];
            fixed (byte* p = big)
            {
                rc = fn(p, (nuint)size);
                if (rc == 0)
                    return Marshal.PtrToStringUTF8((IntPtr)p) ?? "";
            }
        }
        if (tolerateNotFound && rc == NativeApi.IOCPNET_E_NOT_FOUND)
            return "";
        throw IocpNetException.FromCode(rc, operation);
    }
}
