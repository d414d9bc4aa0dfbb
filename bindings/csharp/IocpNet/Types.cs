namespace IocpNet;

/// <summary>A connection of a <see cref="Port"/>: the engine's 64-bit id, never reused within a port.</summary>
/// <param name="Value">The native id (<c>iocpnet_conn</c>); 0 is never valid.</param>
public readonly record struct ConnectionId(ulong Value)
{
    /// <summary>Returns the id as "conn:VALUE".</summary>
    public override string ToString() => $"conn:{Value}";
}

/// <summary>A listening socket of a <see cref="Port"/>.</summary>
/// <param name="Id">The native listener id (<c>iocpnet_listener</c>).</param>
/// <param name="Port">The local TCP port it is bound to (the one picked when 0 was asked for).</param>
public readonly record struct Listener(ulong Id, int Port);

/// <summary>The I/O mechanism a port runs on.</summary>
public enum Backend
{
    /// <summary>The best available: IOCP on Windows, io_uring on Linux, else epoll.</summary>
    Auto = 0,
    /// <summary>Windows I/O completion ports.</summary>
    Iocp = 1,
    /// <summary>Linux io_uring.</summary>
    IoUring = 2,
    /// <summary>Linux epoll.</summary>
    Epoll = 3,
}

/// <summary>How the bytes of a connection are cut into <see cref="IPortHandler.OnData"/> calls.</summary>
public enum Framing
{
    /// <summary>A byte stream: each call gets whatever arrived.</summary>
    Raw = 0,
    /// <summary>A 4-byte big-endian length, then the payload; each call gets one payload.</summary>
    LengthPrefix = 1,
    /// <summary>Lines ending in "\n" ("\r\n" accepted); each call gets one line without its ending.</summary>
    Line = 2,
    /// <summary>RFC 6455 WebSocket messages (the engine does the upgrade, pings and close frames); each call gets one message.</summary>
    WebSocket = 3,
}

/// <summary>The type of a WebSocket message (<see cref="Port.GetWebSocketMessageType"/>,
/// <see cref="Port.SetWebSocketSendType"/>).</summary>
public enum WsMessageType
{
    /// <summary>No message yet.</summary>
    None = 0,
    /// <summary>A text frame (UTF-8; the engine checks received text, not sent text).</summary>
    Text = 1,
    /// <summary>A binary frame (the default for sends).</summary>
    Binary = 2,
}

/// <summary>How <see cref="Port.Close"/> ends a connection.</summary>
public enum CloseMode
{
    /// <summary>Send what is queued, then shut down the write side.</summary>
    Graceful = 0,
    /// <summary>Drop the queue and reset the connection.</summary>
    Abort = 1,
}

/// <summary>Severity of a message given to the log hook (<see cref="IocpNetLog"/>).</summary>
public enum LogLevel
{
    /// <summary>An error.</summary>
    Error = 0,
    /// <summary>A warning.</summary>
    Warn = 1,
    /// <summary>Information.</summary>
    Info = 2,
    /// <summary>Debugging detail.</summary>
    Debug = 3,
}

/// <summary>The engine's result codes (<c>IOCPNET_OK</c> and <c>IOCPNET_E_*</c>); values never change.</summary>
public enum ErrorCode
{
    /// <summary>Success.</summary>
    Ok = 0,
    /// <summary>Invalid argument.</summary>
    InvalidArg = -1,
    /// <summary>Out of memory.</summary>
    NoMemory = -2,
    /// <summary>Unknown or already closed id.</summary>
    NotFound = -3,
    /// <summary>Send queue full.</summary>
    WouldBlock = -4,
    /// <summary>Address already in use.</summary>
    AddrInUse = -5,
    /// <summary>Invalid or unresolvable address.</summary>
    AddrInvalid = -6,
    /// <summary>Connection refused.</summary>
    ConnRefused = -7,
    /// <summary>Connection reset by peer.</summary>
    ConnReset = -8,
    /// <summary>Connection closed by peer.</summary>
    PeerClosed = -9,
    /// <summary>Timed out.</summary>
    Timeout = -10,
    /// <summary>The port is shutting down.</summary>
    ShuttingDown = -11,
    /// <summary>Not allowed inside a callback.</summary>
    InCallback = -12,
    /// <summary>Not supported here.</summary>
    Unsupported = -13,
    /// <summary>Limit reached.</summary>
    Limit = -14,
    /// <summary>System error (see <see cref="IocpNetException.Detail"/>).</summary>
    System = -15,
    /// <summary>Message larger than the maximum message size.</summary>
    MessageTooLarge = -16,
    /// <summary>Network or host unreachable.</summary>
    Unreachable = -17,
    /// <summary>The write side was shut down (<see cref="Port.ShutdownWrite"/>): nothing more can be sent.</summary>
    WriteShutdown = -18,
    /// <summary>The peer broke the protocol (WebSocket).</summary>
    Protocol = -19,
    /// <summary>A TLS handshake or verification failed, or a TLS session broke.</summary>
    Tls = -20,
}

/// <summary>A snapshot of a port's counters (<see cref="Port.Stats"/>).</summary>
/// <param name="Backend">The backend in use (never <see cref="Backend.Auto"/>).</param>
/// <param name="ConnectionsOpen">Connections open now.</param>
/// <param name="ConnectionsAccepted">Connections accepted so far.</param>
/// <param name="ConnectionsConnected">Outgoing connections established so far.</param>
/// <param name="ConnectionsClosed">Connections closed so far.</param>
/// <param name="BytesReceived">Bytes received so far.</param>
/// <param name="BytesSent">Bytes sent so far.</param>
/// <param name="SendQueueBytes">Bytes queued for sending now, over all connections.</param>
public readonly record struct PortStats(
    Backend Backend, long ConnectionsOpen, long ConnectionsAccepted, long ConnectionsConnected,
    long ConnectionsClosed, long BytesReceived, long BytesSent, long SendQueueBytes)
{
    /// <summary>Incoming TLS connections refused so far: failed or timed-out handshakes (they get no callback).</summary>
    public long TlsHandshakesFailed { get; init; }
}

/// <summary>Describes an exception a handler threw (<see cref="Port.UnhandledHandlerException"/>).</summary>
public sealed class HandlerExceptionEventArgs : EventArgs
{
    /// <summary>Creates the arguments.</summary>
    /// <param name="exception">What the handler threw.</param>
    /// <param name="callback">The handler method that threw, e.g. "OnData".</param>
    /// <param name="connection">The connection the call was about, if any; it has been closed.</param>
    public HandlerExceptionEventArgs(Exception exception, string callback, ConnectionId? connection)
    {
        Exception = exception;
        Callback = callback;
        Connection = connection;
    }

    /// <summary>What the handler threw.</summary>
    public Exception Exception { get; }

    /// <summary>The handler method that threw, e.g. "OnData", or "Post" for a posted action.</summary>
    public string Callback { get; }

    /// <summary>The connection the call was about (closed with <see cref="CloseMode.Abort"/> because of it), or null.</summary>
    public ConnectionId? Connection { get; }
}
