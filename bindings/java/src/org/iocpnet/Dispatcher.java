package org.iocpnet;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The SWIG director: the engine's callbacks arrive here (glue.cpp forwards
 * them) and go on to the user's {@link Handler}. Exceptions are deliberately
 * not caught here: the native side clears them, calls onHandlerException and
 * closes the connection, so even an Error thrown from this class is contained.
 */
final class Dispatcher extends NativeHandler {
    /** The port whose worker the current thread is (set on its first callback). */
    static final ThreadLocal<Port> WORKER = new ThreadLocal<>();

    private final Port port;
    volatile Handler handler;

    Dispatcher(Port port, Handler handler) {
        this.port = port;
        this.handler = handler;
    }

    private void mark() {
        if (WORKER.get() != port) WORKER.set(port);
    }

    @Override
    public void onAccept(long listener, long conn) {
        mark();
        handler.onAccept(port, listener, conn);
    }

    @Override
    public void onConnect(long conn, int status) {
        mark();
        try {
            handler.onConnect(port, conn, status);
        } finally {
            if (status != ErrorCode.OK) port.forget(conn); // a failed connect gets no onClose
        }
    }

    /**
     * data is usually this worker's one receive buffer, re-pointed by the native
     * side at this call's bytes (recv_view.cpp), so what the previous handler did
     * to it is undone first; afterwards its limit goes to 0 (the native side then
     * zeroes its capacity), so a reference kept past the call reads nothing.
     */
    @Override
    public void onData(long conn, ByteBuffer data) {
        mark();
        data.clear().order(ByteOrder.BIG_ENDIAN);
        try {
            handler.onData(port, conn, data);
        } finally {
            data.limit(0);
        }
    }

    @Override
    public void onDrain(long conn) {
        mark();
        handler.onDrain(port, conn);
    }

    @Override
    public void onClose(long conn, int reason) {
        mark();
        try {
            handler.onClose(port, conn, reason);
        } finally {
            port.forget(conn);
        }
    }

    @Override
    public void onFramingError(long conn, int err) {
        mark();
        handler.onFramingError(port, conn, err);
    }

    @Override
    public void onPost(long token) {
        mark();
        Runnable task = port.takePosted(token);
        if (task != null) task.run();
    }

    @Override
    public void onPeerShutdown(long conn) {
        mark();
        handler.onPeerShutdown(port, conn);
    }

    @Override
    public void onTimer(long token) {
        mark();
        port.runTimer(token);
    }

    @Override
    public void onConnPost(long conn, long token) {
        mark();
        Runnable task = port.takePosted(token);
        if (task != null) task.run();
    }

    // No mark(): the release may run on the thread inside sendOwned (a copying layer), not a worker.
    @Override
    public void onReleased(long token) {
        port.released(token);
    }

    @Override
    public void onHandlerException(long conn, Throwable error) {
        // No mark(): it follows the upcall that threw, which marked a worker already; after
        // onReleased it may be the application's thread inside sendOwned, never to be marked.
        handler.onHandlerException(port, conn, error);
    }
}
