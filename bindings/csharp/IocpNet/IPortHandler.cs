namespace IocpNet;

/// <summary>
/// Receives a port's events. Methods run on the engine's worker threads; the
/// calls of one connection never overlap and come in order: OnAccept (or
/// OnConnect with <see cref="ErrorCode.Ok"/>), then OnData/OnDrain, then OnClose
/// exactly once. Every method has an empty default: implement what you need.
/// A method may call any <see cref="Port"/> member except <see cref="Port.Dispose"/>.
/// An exception it throws is caught, reported through
/// <see cref="Port.UnhandledHandlerException"/>, and its connection is aborted.
/// </summary>
public interface IPortHandler
{
    /// <summary>A listener accepted a connection.</summary>
    /// <param name="port">The port.</param>
    /// <param name="listener">The listener's id (<see cref="Listener.Id"/>).</param>
    /// <param name="connection">The new connection.</param>
    void OnAccept(Port port, ulong listener, ConnectionId connection) { }

    /// <summary>An outgoing connection finished connecting, or failed (then nothing else follows for it).</summary>
    /// <param name="port">The port.</param>
    /// <param name="connection">The connection returned by <see cref="Port.Connect"/>.</param>
    /// <param name="status"><see cref="ErrorCode.Ok"/>, or why it failed (ConnRefused, Timeout, ...).</param>
    void OnConnect(Port port, ConnectionId connection, ErrorCode status) { }

    /// <summary>Bytes arrived: with RAW framing whatever arrived, otherwise exactly one message.</summary>
    /// <param name="port">The port.</param>
    /// <param name="connection">The connection.</param>
    /// <param name="data">The bytes; valid only during this call (copy what you keep).</param>
    void OnData(Port port, ConnectionId connection, ReadOnlySpan<byte> data) { }

    /// <summary>After a refused send (WouldBlock), the send queue fell to half its limit.</summary>
    /// <param name="port">The port.</param>
    /// <param name="connection">The connection.</param>
    void OnDrain(Port port, ConnectionId connection) { }

    /// <summary>The connection closed; its id is dead after this call.</summary>
    /// <param name="port">The port.</param>
    /// <param name="connection">The connection.</param>
    /// <param name="reason"><see cref="ErrorCode.Ok"/> when this side closed it, else PeerClosed, ConnReset, Timeout, MessageTooLarge.</param>
    void OnClose(Port port, ConnectionId connection, ErrorCode reason) { }

    /// <summary>
    /// The peer broke the framing (MessageTooLarge). The connection is still
    /// open during the call, so a last reply may be sent; it is then closed
    /// gracefully and OnClose follows with the same reason.
    /// </summary>
    /// <param name="port">The port.</param>
    /// <param name="connection">The connection.</param>
    /// <param name="error">The framing error.</param>
    void OnFramingError(Port port, ConnectionId connection, ErrorCode error) { }

    /// <summary>
    /// The peer of a <see cref="ConnectionOptions.HalfOpen"/> connection shut down its write side (its FIN came
    /// after every byte before it was delivered). Called once; the connection stays open for sending. After
    /// <see cref="Port.ShutdownWrite"/> on this side too, it closes (OnClose, PeerClosed) once both directions are done.
    /// </summary>
    /// <param name="port">The port.</param>
    /// <param name="connection">The connection.</param>
    void OnPeerShutdown(Port port, ConnectionId connection) { }
}
