package org.iocpnet;

import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * An iocpnet engine instance: worker threads, listeners and connections, with
 * callbacks to one {@link Handler}. Thread-safe; ids are {@code long}s that
 * are never reused within a port.
 *
 * <pre>{@code
 * try (Port port = new Port(new PortOptions(), new Handler() {
 *         public void onData(Port p, long conn, ByteBuffer data) { p.send(conn, data); } // echo
 *     })) {
 *     long l = port.listen("127.0.0.1", 0);
 *     System.out.println("listening on " + port.listenerPort(l));
 *     ...
 * }
 * }</pre>
 */
public final class Port implements AutoCloseable {
    private static final int OPEN = 0, CLOSING = 1, CLOSED = 2;

    private final NativePort nativePort = new NativePort();
    private final Dispatcher dispatcher;
    private final AtomicInteger state = new AtomicInteger(OPEN);
    // Calls in progress from threads that are not this port's workers: close()
    // waits for them, so none can touch the engine port after it is freed.
    private final AtomicInteger users = new AtomicInteger();
    private final ConcurrentHashMap<Long, Object> attachments = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Runnable> posted = new ConcurrentHashMap<>();
    private final AtomicLong nextToken = new AtomicLong();
    private final Object closeLock = new Object();

    /**
     * Creates a port and starts its worker threads.
     * @param options settings (copied)
     * @param handler receives the callbacks; held strongly until {@link #close()}
     * @throws IocpNetException e.g. UNSUPPORTED for a backend that is not available
     */
    public Port(PortOptions options, Handler handler) {
        Objects.requireNonNull(options, "options");
        dispatcher = new Dispatcher(this, Objects.requireNonNull(handler, "handler"));
        // The engine owns the director from here: a global reference keeps the
        // handler alive as long as the port, whatever Java still references.
        dispatcher.swigReleaseOwnership();
        int rc = nativePort.create(dispatcher, options.workerThreads, options.backend.value, options.maxConnections,
                options.maxSendQueueBytes, options.idleTimeoutMs, options.connectTimeoutMs,
                options.tcpNoDelay ? 1 : 0, options.keepaliveSeconds);
        if (rc != ErrorCode.OK) {
            IocpNetException e = IocpNetException.of(rc, "create port");
            nativePort.delete();
            state.set(CLOSED);
            throw e;
        }
    }

    /**
     * Creates a port with default options.
     * @param handler receives the callbacks
     */
    public Port(Handler handler) { this(new PortOptions(), handler); }

    /**
     * Replaces the handler; callbacks that start afterwards use the new one.
     * @param handler the new handler
     */
    public void setHandler(Handler handler) { dispatcher.handler = Objects.requireNonNull(handler, "handler"); }

    /**
     * @return true until {@link #close()} begins
     */
    public boolean isOpen() { return state.get() == OPEN; }

    // ------------------------------------------------------------ listening

    /**
     * Listens with RAW framing.
     * @see #listen(String, int, ConnectionOptions)
     * @param host address
     * @param port TCP port, 0 = any free
     * @return the listener id
     */
    public long listen(String host, int port) { return listen(host, port, null); }

    /**
     * Listens on host:port; accepted connections get {@link Handler#onAccept}.
     * @param host "127.0.0.1", "0.0.0.0", "::", "localhost"; null = all IPv4 addresses
     * @param port TCP port; 0 picks a free one (see {@link #listenerPort})
     * @param options framing and timeouts of accepted connections; null = defaults
     * @return the listener id
     * @throws IocpNetException ADDR_IN_USE, ADDR_INVALID, ...
     */
    public long listen(String host, int port, ConnectionOptions options) {
        ConnectionOptions o = options != null ? options : new ConnectionOptions();
        long[] out = new long[1];
        boolean c = enter();
        int rc;
        try {
            rc = nativePort.listen(host, checkPort(port), o.framing.value, o.maxMessageSize, o.idleTimeoutMs,
                    o.connectTimeoutMs, o.tcpNoDelay, o.keepaliveSeconds, out);
        } finally { leave(c); }
        IocpNetException.check(rc, "listen");
        return out[0];
    }

    /**
     * @param listener a listener id
     * @return the local TCP port it is bound to
     */
    public int listenerPort(long listener) {
        int[] out = new int[1];
        boolean c = enter();
        int rc;
        try { rc = nativePort.listenerPort(listener, out); } finally { leave(c); }
        IocpNetException.check(rc, "listenerPort");
        return out[0];
    }

    /**
     * Stops accepting; accepted connections stay open.
     * @param listener a listener id
     */
    public void unlisten(long listener) {
        boolean c = enter();
        int rc;
        try { rc = nativePort.unlisten(listener); } finally { leave(c); }
        IocpNetException.check(rc, "unlisten");
    }

    // ---------------------------------------------------------- connections

    /**
     * Connects with RAW framing.
     * @param host name or address
     * @param port TCP port
     * @return the connection id
     */
    public long connect(String host, int port) { return connect(host, port, null); }

    /**
     * Starts connecting; {@link Handler#onConnect} reports the outcome. Bytes sent
     * before that are queued.
     * @param host name or address (resolved on this thread)
     * @param port TCP port
     * @param options framing and timeouts; null = defaults
     * @return the new connection id
     */
    public long connect(String host, int port, ConnectionOptions options) {
        ConnectionOptions o = options != null ? options : new ConnectionOptions();
        long[] out = new long[1];
        boolean c = enter();
        int rc;
        try {
            rc = nativePort.connect(host, checkPort(port), o.framing.value, o.maxMessageSize, o.idleTimeoutMs,
                    o.connectTimeoutMs, o.tcpNoDelay, o.keepaliveSeconds, out);
        } finally { leave(c); }
        IocpNetException.check(rc, "connect");
        return out[0];
    }

    /**
     * Queues all of data.
     * @see #send(long, byte[], int, int)
     * @param conn connection
     * @param data bytes
     */
    public void send(long conn, byte[] data) { send(conn, data, 0, data.length); }

    /**
     * Copies bytes into the connection's send queue and returns at once. With
     * LENGTH_PREFIX framing the header is added, with LINE framing a "\n".
     * @param conn connection
     * @param data bytes
     * @param off first byte
     * @param len count
     * @throws IocpNetException NOT_FOUND (closed id), WOULD_BLOCK (queue full:
     *         nothing queued, onDrain follows), LIMIT, INVALID_ARG ("\n" in a LINE message)
     */
    public void send(long conn, byte[] data, int off, int len) {
        IocpNetException.check(sendArray(conn, data, off, len), "send");
    }

    /**
     * Queues the buffer's remaining bytes and advances its position to its limit.
     * A direct buffer is read in place (no JNI copy).
     * @param conn connection
     * @param data bytes between position and limit
     * @throws IocpNetException as {@link #send(long, byte[], int, int)}; the position is then unchanged
     */
    public void send(long conn, ByteBuffer data) { IocpNetException.check(sendBuffer(conn, data), "send"); }

    /**
     * As {@link #send(long, byte[], int, int)}, but a full queue gives false instead of an exception.
     * @param conn connection
     * @param data bytes
     * @return false on WOULD_BLOCK
     */
    public boolean trySend(long conn, byte[] data) { return trySend(conn, data, 0, data.length); }

    /**
     * @param conn connection
     * @param data bytes
     * @param off first byte
     * @param len count
     * @return false when the queue is full (onDrain follows)
     */
    public boolean trySend(long conn, byte[] data, int off, int len) { return accepted(sendArray(conn, data, off, len)); }

    /**
     * @param conn connection
     * @param data remaining bytes (position advances when accepted)
     * @return false when the queue is full
     */
    public boolean trySend(long conn, ByteBuffer data) { return accepted(sendBuffer(conn, data)); }

    /**
     * Sends one payload to many connections.
     * @param conns receivers
     * @param data bytes
     * @return how many got it
     */
    public int sendMany(long[] conns, byte[] data) { return sendMany(conns, data, 0, data.length); }

    /**
     * Sends one payload to many connections, sharing one copy. Receivers that are
     * closed or whose queue is full are skipped.
     * @param conns receivers
     * @param data bytes
     * @param off first byte
     * @param len count
     * @return how many receivers got it
     */
    public int sendMany(long[] conns, byte[] data, int off, int len) {
        Objects.checkFromIndexSize(off, len, data.length);
        long[] out = new long[1];
        boolean c = enter();
        int rc;
        try { rc = nativePort.sendMany(conns, conns.length, data, off, len, out); } finally { leave(c); }
        IocpNetException.check(rc, "sendMany");
        return (int) out[0];
    }

    /**
     * Closes gracefully (queued bytes are sent first).
     * @param conn connection
     */
    public void close(long conn) { close(conn, CloseMode.GRACEFUL); }

    /**
     * Closes a connection; only onClose (reason OK) follows.
     * @param conn connection
     * @param mode GRACEFUL or ABORT
     * @throws IocpNetException NOT_FOUND for an unknown or closed id
     */
    public void close(long conn, CloseMode mode) {
        boolean c = enter();
        int rc;
        try { rc = nativePort.close(conn, mode.value); } finally { leave(c); }
        IocpNetException.check(rc, "close");
    }

    /**
     * @param conn connection
     * @return the peer's address, e.g. "127.0.0.1:9034"
     */
    public String peerAddress(long conn) { return address(conn, true); }

    /**
     * @param conn connection
     * @return the local address, e.g. "127.0.0.1:40312"
     */
    public String localAddress(long conn) { return address(conn, false); }

    /**
     * Attaches an application object to a live connection (replacing any
     * earlier one; null removes it). It is dropped after the connection's onClose.
     * @param conn connection
     * @param value the object
     * @throws IocpNetException NOT_FOUND for an unknown or closed id
     */
    public void attach(long conn, Object value) {
        boolean c = enter();
        int rc;
        try { rc = nativePort.check(conn); } finally { leave(c); }
        IocpNetException.check(rc, "attach");
        if (value == null) attachments.remove(conn);
        else attachments.put(conn, value);
    }

    /**
     * @param conn connection
     * @param <T> the type attached
     * @return the attached object, or null
     */
    @SuppressWarnings("unchecked")
    public <T> T attachment(long conn) { return (T) attachments.get(conn); }

    // ----------------------------------------------------------------- port

    /**
     * Runs task once on one of the port's worker threads. If it throws,
     * {@link Handler#onHandlerException} gets connection 0.
     * @param task the task
     * @throws IocpNetException SHUTTING_DOWN once close() has begun
     */
    public void post(Runnable task) {
        Objects.requireNonNull(task, "task");
        long token = nextToken.incrementAndGet();
        posted.put(token, task);
        boolean c = enter();
        int rc;
        try { rc = nativePort.post(token); } finally { leave(c); }
        if (rc != ErrorCode.OK) {
            posted.remove(token);
            IocpNetException.check(rc, "post");
        }
    }

    /**
     * @return a snapshot of the port's counters
     */
    public Stats stats() {
        long[] v = new long[8];
        boolean c = enter();
        int rc;
        try { rc = nativePort.stats(v); } finally { leave(c); }
        IocpNetException.check(rc, "stats");
        return new Stats(Backend.of(v[0]), v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    }

    /**
     * Stops the listeners, closes every connection (onClose fires for each),
     * waits for callbacks in flight, stops the workers and frees the port.
     * Calling it again does nothing.
     * @throws IllegalStateException when called from one of this port's callbacks
     *         (the engine refuses with IOCPNET_E_IN_CALLBACK; the port stays open)
     */
    @Override
    public void close() {
        if (Dispatcher.WORKER.get() == this) {
            // Ask the engine anyway: it is the authority and leaves the port intact.
            int rc = nativePort.destroy();
            if (rc == ErrorCode.OK) { finish(); return; }
            throw inCallback(rc);
        }
        synchronized (closeLock) {
            if (!state.compareAndSet(OPEN, CLOSING)) return;
            // Calls in flight are short, except a connect resolving a name: spin, then park.
            for (int spins = 0; users.get() != 0; spins++) {
                if (spins < 1000) Thread.onSpinWait();
                else LockSupport.parkNanos(100_000);
            }
            int rc = nativePort.destroy();
            if (rc != ErrorCode.OK) {
                state.set(OPEN);
                throw rc == ErrorCode.IN_CALLBACK ? inCallback(rc) : IocpNetException.of(rc, "close port");
            }
            finish();
        }
    }

    // ------------------------------------------------------------ internals

    private void finish() {
        nativePort.delete();
        attachments.clear();
        posted.clear();
        state.set(CLOSED);
    }

    private static IllegalStateException inCallback(int rc) {
        return new IllegalStateException("Port.close() called from one of its own callbacks",
                IocpNetException.of(rc, "close port"));
    }

    /** Marks a call that needs the engine port alive; false for this port's workers (destroy waits for them). */
    private boolean enter() {
        if (Dispatcher.WORKER.get() == this) return false;
        users.incrementAndGet();
        if (state.get() != OPEN) {
            users.decrementAndGet();
            throw new IllegalStateException("port is closed");
        }
        return true;
    }

    private void leave(boolean counted) {
        if (counted) users.decrementAndGet();
    }

    private int sendArray(long conn, byte[] data, int off, int len) {
        Objects.checkFromIndexSize(off, len, data.length);
        boolean c = enter();
        try { return nativePort.send(conn, data, off, len); } finally { leave(c); }
    }

    private int sendBuffer(long conn, ByteBuffer b) {
        int pos = b.position(), len = b.remaining(), rc;
        if (b.isDirect()) {
            boolean c = enter();
            try { rc = nativePort.sendDirect(conn, b, pos, len); } finally { leave(c); }
        } else if (b.hasArray()) {
            rc = sendArray(conn, b.array(), b.arrayOffset() + pos, len);
        } else { // a read-only heap buffer hides its array
            byte[] copy = new byte[len];
            b.duplicate().get(copy);
            rc = sendArray(conn, copy, 0, len);
        }
        if (rc == ErrorCode.OK) b.position(pos + len);
        return rc;
    }

    private static boolean accepted(int rc) {
        if (rc == ErrorCode.WOULD_BLOCK) return false;
        IocpNetException.check(rc, "send");
        return true;
    }

    private String address(long conn, boolean peer) {
        int[] rc = new int[1];
        boolean c = enter();
        String s;
        try { s = nativePort.address(conn, peer, rc); } finally { leave(c); }
        IocpNetException.check(rc[0], peer ? "peerAddress" : "localAddress");
        return s;
    }

    private static int checkPort(int port) {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
        return port;
    }

    void forget(long conn) { attachments.remove(conn); }

    Runnable takePosted(long token) { return posted.remove(token); }
}
