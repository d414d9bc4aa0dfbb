package org.iocpnet;

import java.nio.ByteBuffer;

/**
 * The callbacks of a {@link Port}; every method has a no-op default.
 *
 * <p>Callbacks run on the engine's worker threads. Per connection they never
 * run concurrently and come in order: {@code onAccept} (or {@code onConnect}
 * with {@link ErrorCode#OK}) first, then {@code onData}/{@code onDrain}, then
 * {@code onClose} exactly once. A callback may call any {@link Port} method
 * except {@link Port#close()}.
 *
 * <p>An exception thrown by a callback is caught on the native side, passed to
 * {@link #onHandlerException} and the connection is aborted; the worker
 * thread and the JVM carry on.
 */
public interface Handler {
    /**
     * A listener accepted a connection.
     * @param port the port
     * @param listener the listener id
     * @param conn the new connection id
     */
    default void onAccept(Port port, long listener, long conn) {}

    /**
     * An outgoing connection finished connecting.
     * @param port the port
     * @param conn the id {@link Port#connect} returned
     * @param status {@link ErrorCode#OK}, or the error (then nothing else follows for conn)
     */
    default void onConnect(Port port, long conn, int status) {}

    /**
     * Bytes arrived: with RAW framing whatever arrived, otherwise exactly one message.
     *
     * <p>{@code data} is a direct buffer over the engine's receive memory (no copy),
     * position 0, limit = capacity = the byte count, big-endian. It is valid only
     * during this call: read it, send it ({@link Port#send(long, ByteBuffer)} copies
     * it into the queue before returning) or copy it ({@link #copyOf(ByteBuffer)}).
     * Never write to it and never keep it: the same object is re-pointed at the next
     * call's bytes on this worker, and when this call returns it is emptied (capacity
     * and limit 0), so a kept reference reads nothing (its relative gets throw
     * {@code BufferUnderflowException}). Slices and duplicates made during the call are
     * not emptied: keeping one of those reads freed memory.
     * @param port the port
     * @param conn the connection
     * @param data the bytes, valid only during this call
     */
    default void onData(Port port, long conn, ByteBuffer data) {}

    /**
     * The copying convenience for {@link #onData}: the bytes from {@code data}'s
     * position to its limit in a new array, which may be kept; the position does not move.
     * @param data the buffer (any buffer, not only onData's)
     * @return a copy of the remaining bytes
     */
    static byte[] copyOf(ByteBuffer data) {
        byte[] b = new byte[data.remaining()];
        data.duplicate().get(b);
        return b;
    }

    /**
     * The send queue fell to half its limit after a refused send.
     * @param port the port
     * @param conn the connection
     */
    default void onDrain(Port port, long conn) {}

    /**
     * The connection is closed; its id is dead from now on.
     * @param port the port
     * @param conn the connection
     * @param reason {@link ErrorCode#OK} when this side closed it, else why (PEER_CLOSED, CONN_RESET, TIMEOUT, ...)
     */
    default void onClose(Port port, long conn, int reason) {}

    /**
     * The peer broke the framing; a last reply may still be sent, then the
     * connection closes gracefully and onClose follows with {@code error}.
     * @param port the port
     * @param conn the connection
     * @param error {@link ErrorCode#MESSAGE_TOO_LARGE}
     */
    default void onFramingError(Port port, long conn, int error) {}

    /**
     * The peer of a half-open connection ({@link ConnectionOptions#halfOpen}) shut down its write side
     * (its FIN came after every byte before it was delivered). Called once; the connection stays open
     * for sending. After {@link Port#shutdownWrite} on this side too it closes (onClose, PEER_CLOSED)
     * once both directions are done.
     * @param port the port
     * @param conn the connection
     */
    default void onPeerShutdown(Port port, long conn) {}

    /**
     * A callback (or a task given to {@link Port#post}, a timer's task, or the
     * release callback of {@link Port#sendOwned}) threw. The connection
     * is aborted after this returns (none for connection 0). The default logs to {@link System.Logger}
     * "org.iocpnet" at WARNING.
     * @param port the port
     * @param conn the connection, 0 for a task of {@link Port#post(Runnable)}, a timer or a release callback
     * @param error what was thrown
     */
    default void onHandlerException(Port port, long conn, Throwable error) {
        System.getLogger("org.iocpnet").log(System.Logger.Level.WARNING,
                "iocpnet: handler threw on connection " + Long.toUnsignedString(conn) + "; closing it", error);
    }
}
