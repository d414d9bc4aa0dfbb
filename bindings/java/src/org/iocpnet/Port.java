package org.iocpnet;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;

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
    // Keep what native code refers to by token reachable: timers until stopped or
    // fired, owned buffers until released.
    private final ConcurrentHashMap<Long, PortTimer> timers = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Long, Owned> owned = new ConcurrentHashMap<>();
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
        int rc = nativePort.create(dispatcher, dispatcher, options.workerThreads, options.backend.value, options.maxConnections,
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
        TlsConfig tls = o.tls;
        long tlsHandle = tls != null ? tls.acquire() : 0; // alive for the call; the listener takes its own reference
        int rc;
        try {
            boolean c = enter();
            try {
                rc = nativePort.listen(host, checkPort(port), o.framing.value, o.maxMessageSize, o.idleTimeoutMs,
                        o.connectTimeoutMs, o.tcpNoDelay, o.keepaliveSeconds, o.halfOpen ? 1 : 0, tlsHandle, out);
            } finally { leave(c); }
        } finally { if (tls != null) tls.release(); }
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
        TlsConfig tls = o.tls;
        long tlsHandle = tls != null ? tls.acquire() : 0; // alive for the call; the connection takes its own reference
        int rc;
        try {
            boolean c = enter();
            try {
                rc = nativePort.connect(host, checkPort(port), o.framing.value, o.maxMessageSize, o.idleTimeoutMs,
                        o.connectTimeoutMs, o.tcpNoDelay, o.keepaliveSeconds, o.halfOpen ? 1 : 0, tlsHandle,
                        TlsConfig.utf8(o.serverName), TlsConfig.utf8(o.wsHost), TlsConfig.utf8(o.wsPath), out);
            } finally { leave(c); }
        } finally { if (tls != null) tls.release(); }
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

    // ------------------------------------------- flow control and half-close

    /**
     * Stops reading from the connection: no onData starts after this returns (one already being
     * delivered on another thread may finish), the bytes stay in the kernel so TCP slows the peer
     * down, and the idle timeout does not run. Bytes already read are kept and delivered, in order,
     * after {@link #resumeReceive}. Idempotent.
     * @param conn connection
     * @throws IocpNetException NOT_FOUND
     */
    public void pauseReceive(long conn) {
        boolean c = enter();
        int rc;
        try { rc = nativePort.pauseRecv(conn); } finally { leave(c); }
        IocpNetException.check(rc, "pauseReceive");
    }

    /**
     * Reads again after {@link #pauseReceive}; held bytes are delivered first, on a worker (never
     * inside this call). Idempotent.
     * @param conn connection
     * @throws IocpNetException NOT_FOUND
     */
    public void resumeReceive(long conn) {
        boolean c = enter();
        int rc;
        try { rc = nativePort.resumeRecv(conn); } finally { leave(c); }
        IocpNetException.check(rc, "resumeReceive");
    }

    /**
     * @param conn connection
     * @return bytes queued (payload and framing) that the system has not taken yet: what counts
     *         toward {@link PortOptions#maxSendQueueBytes}
     * @throws IocpNetException NOT_FOUND
     */
    public long queuedBytes(long conn) {
        long[] out = new long[1];
        boolean c = enter();
        int rc;
        try { rc = nativePort.queuedBytes(conn, out); } finally { leave(c); }
        IocpNetException.check(rc, "queuedBytes");
        return out[0];
    }

    /**
     * Half-close: once everything queued is sent, shuts down the write side (the peer reads EOF); the
     * connection keeps receiving. Later sends fail with {@link ErrorCode#WRITE_SHUTDOWN}. A
     * {@link ConnectionOptions#halfOpen} connection closes once the peer has shut down too. Idempotent.
     * @param conn connection
     * @throws IocpNetException NOT_FOUND
     */
    public void shutdownWrite(long conn) {
        boolean c = enter();
        int rc;
        try { rc = nativePort.shutdownWrite(conn); } finally { leave(c); }
        IocpNetException.check(rc, "shutdownWrite");
    }

    /**
     * Sends the remaining bytes of several buffers as one message (framing applies to their
     * concatenation), copied and queued all or nothing; on success every position advances to its limit.
     * @param conn connection
     * @param buffers the parts, in order (direct ones are read in place)
     * @throws IocpNetException as {@link #send(long, byte[], int, int)}, and WRITE_SHUTDOWN
     */
    public void send(long conn, ByteBuffer[] buffers) { IocpNetException.check(sendVector(conn, buffers), "send"); }

    /**
     * @param conn connection
     * @param buffers the parts, in order (positions advance when accepted)
     * @return false when the queue is full (nothing queued; onDrain follows)
     */
    public boolean trySend(long conn, ByteBuffer[] buffers) { return accepted(sendVector(conn, buffers)); }

    /**
     * Zero-copy send of a direct buffer's remaining bytes: the engine reads them in place, so they
     * must not change until {@code released} runs — exactly once, on a worker thread (or inside this
     * call when the engine had to copy the bytes anyway, e.g. for a TLS layer), when the engine
     * no longer needs them (sent, or dropped by a close or {@link #close()}). Until then the port keeps
     * the buffer reachable. The position advances to the limit when the call succeeds; when it fails
     * (an exception) nothing is kept and {@code released} never runs. An exception thrown by
     * {@code released} goes to {@link Handler#onHandlerException} with connection 0.
     * @param conn connection
     * @param direct a direct buffer
     * @param released given the buffer once the engine let go of it; may be null
     * @throws IllegalArgumentException the buffer is not direct
     * @throws IocpNetException as {@link #send(long, byte[], int, int)}, and WRITE_SHUTDOWN
     */
    public void sendOwned(long conn, ByteBuffer direct, Consumer<ByteBuffer> released) {
        IocpNetException.check(sendOwnedCore(conn, direct, released), "sendOwned");
    }

    /**
     * As {@link #sendOwned}, but a full queue gives false (nothing kept, {@code released} never runs, onDrain follows).
     * @param conn connection
     * @param direct a direct buffer
     * @param released given the buffer once the engine let go of it; may be null
     * @return false on WOULD_BLOCK
     */
    public boolean trySendOwned(long conn, ByteBuffer direct, Consumer<ByteBuffer> released) {
        return accepted(sendOwnedCore(conn, direct, released));
    }

    /**
     * Runs task exactly once on the connection's worker, serialized with its callbacks (never at the
     * same time, never inside this call) and before its last one: if the connection closes first, the
     * task runs just before onClose. If it throws, {@link Handler#onHandlerException} gets the
     * connection, which is then aborted (as for a callback).
     * @param conn connection
     * @param task the task, kept reachable until it ran
     * @throws IocpNetException NOT_FOUND (closing or closed: the task will not run), SHUTTING_DOWN
     */
    public void post(long conn, Runnable task) {
        Objects.requireNonNull(task, "task");
        long token = nextToken.incrementAndGet();
        posted.put(token, task);
        boolean c = enter();
        int rc;
        try { rc = nativePort.connPost(conn, token); } finally { leave(c); }
        if (rc != ErrorCode.OK) {
            posted.remove(token);
            IocpNetException.check(rc, "post");
        }
    }

    // ---------------------------------------------------------------- timers

    /**
     * Starts a timer on the port's workers: task runs once {@code delay} has passed, then every
     * {@code repeat} (null = once), never twice at once. Close the timer to stop it; until then (or
     * until a one-shot ran, or the port is closed) the port keeps the task reachable. If the task
     * throws, {@link Handler#onHandlerException} gets connection 0 and the timer keeps its schedule.
     * @param delay time before the first run (rounded up to milliseconds)
     * @param repeat period of later runs, positive; null for a one-shot timer
     * @param task the work
     * @return the timer
     * @throws IocpNetException SHUTTING_DOWN
     */
    public PortTimer startTimer(Duration delay, Duration repeat, Runnable task) {
        Objects.requireNonNull(task, "task");
        return startTimer(delay, repeat, t -> task.run());
    }

    /**
     * As {@link #startTimer(Duration, Duration, Runnable)}; the task gets its timer (e.g. to stop it).
     * @param delay time before the first run
     * @param repeat period of later runs, positive; null for a one-shot timer
     * @param task the work, given its timer
     * @return the timer
     */
    public PortTimer startTimer(Duration delay, Duration repeat, Consumer<PortTimer> task) {
        Objects.requireNonNull(task, "task");
        long delayMs = PortTimer.millis(delay, "delay", true);
        long repeatMs = repeat == null ? 0 : PortTimer.millis(repeat, "repeat", false);
        PortTimer t = new PortTimer(this, nextToken.incrementAndGet(), repeatMs != 0, task);
        timers.put(t.token, t); // before the engine can run it (on another worker, at once)
        long[] out = new long[1];
        boolean c = enter();
        int rc;
        try { rc = nativePort.timerStart(delayMs, repeatMs, t.token, out); } finally { leave(c); }
        if (rc != ErrorCode.OK) {
            timers.remove(t.token);
            IocpNetException.check(rc, "startTimer");
        }
        t.started(out[0]);
        return t;
    }

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
        long[] v = new long[9];
        boolean c = enter();
        int rc;
        try { rc = nativePort.stats(v); } finally { leave(c); }
        IocpNetException.check(rc, "stats");
        return new Stats(Backend.of(v[0]), v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]);
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

    // ------------------------------------------------------ TLS, WebSocket

    /**
     * The TLS session of a connection: version, cipher, ALPN protocol and peer subject once the handshake is
     * done, the error text once it failed. Readable while the connection is open or closing, and inside its
     * onClose or failed onConnect.
     * @param conn a connection made with {@link ConnectionOptions#tls}
     * @return the facts ("" for what is not known)
     * @throws IocpNetException NOT_FOUND, UNSUPPORTED (a plain TCP connection)
     */
    public TlsInfo tlsInfo(long conn) {
        return new TlsInfo(tlsFact(conn, 0), tlsFact(conn, 1), tlsFact(conn, 2), tlsFact(conn, 3), tlsFact(conn, 4));
    }

    private String tlsFact(long conn, int what) {
        int[] rc = new int[1];
        byte[] b;
        boolean c = enter();
        try { b = nativePort.tlsInfo(conn, what, rc); } finally { leave(c); }
        IocpNetException.check(rc[0], "tlsInfo");
        return new String(b, StandardCharsets.UTF_8);
    }

    /**
     * Whether later sends on a WebSocket connection go as text or binary messages (default binary). The
     * engine does not check that sent text is UTF-8.
     * @param conn a WEBSOCKET connection
     * @param type TEXT or BINARY
     * @throws IocpNetException NOT_FOUND, INVALID_ARG (not a WebSocket connection, or NONE)
     */
    public void setWebSocketSendType(long conn, WsMessageType type) {
        Objects.requireNonNull(type, "type");
        boolean c = enter();
        int rc;
        try { rc = nativePort.wsSetSendType(conn, type.value); } finally { leave(c); }
        IocpNetException.check(rc, "setWebSocketSendType");
    }

    /**
     * The type of the message being delivered: call it inside {@link Handler#onData} (elsewhere it is the
     * last one delivered, NONE before any).
     * @param conn a WEBSOCKET connection
     * @return TEXT or BINARY
     * @throws IocpNetException NOT_FOUND, INVALID_ARG (not a WebSocket connection)
     */
    public WsMessageType webSocketMessageType(long conn) {
        int[] out = new int[1];
        boolean c = enter();
        int rc;
        try { rc = nativePort.wsMessageType(conn, out); } finally { leave(c); }
        IocpNetException.check(rc, "webSocketMessageType");
        return WsMessageType.of(out[0]);
    }

    /**
     * The request target of an accepted WebSocket connection as sent, e.g. "/chat?room=1"; from onAccept
     * until its onClose returned.
     * @param conn a connection accepted by a WEBSOCKET listener
     * @return the path and query
     * @throws IocpNetException NOT_FOUND, INVALID_ARG (not an accepted WebSocket connection)
     */
    public String webSocketRequestPath(long conn) {
        int[] rc = new int[1];
        byte[] b;
        boolean c = enter();
        try { b = nativePort.wsRequestPath(conn, rc); } finally { leave(c); }
        IocpNetException.check(rc[0], "webSocketRequestPath");
        return new String(b, StandardCharsets.UTF_8);
    }

    /**
     * The value of the first upgrade-request header called name (case-insensitive), e.g. "Origin".
     * @param conn a connection accepted by a WEBSOCKET listener
     * @param name the header name
     * @return the value, or null when the request had no such header
     * @throws IocpNetException NOT_FOUND (unknown or closed connection), INVALID_ARG (not an accepted WebSocket connection)
     */
    public String webSocketRequestHeader(long conn, String name) {
        Objects.requireNonNull(name, "name");
        int[] rc = new int[1];
        byte[] b;
        boolean c = enter();
        try { b = nativePort.wsRequestHeader(conn, TlsConfig.utf8(name), rc); } finally { leave(c); }
        if (rc[0] == ErrorCode.NOT_FOUND) {
            webSocketRequestPath(conn); // NOT_FOUND again: the connection is gone, not the header
            return null;
        }
        IocpNetException.check(rc[0], "webSocketRequestHeader");
        return new String(b, StandardCharsets.UTF_8);
    }

    /**
     * Registers a page that a plain HTTP GET of path (exact match, query ignored) on a WebSocket listener is
     * answered with ("200 OK"); any other GET gets "404 Not Found". The body is copied; a second call for the
     * same path replaces it. Applies to requests parsed after it returns.
     * @param listener a WEBSOCKET listener
     * @param path starts with '/'
     * @param contentType e.g. "text/html; charset=utf-8"
     * @param body the page's bytes
     * @throws IocpNetException NOT_FOUND (listener), INVALID_ARG (not a WebSocket listener, path not starting with '/')
     */
    public void addPage(long listener, String path, String contentType, byte[] body) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(contentType, "contentType");
        Objects.requireNonNull(body, "body");
        boolean c = enter();
        int rc;
        try {
            rc = nativePort.wsAddPage(listener, TlsConfig.utf8(path), TlsConfig.utf8(contentType), body);
        } finally { leave(c); }
        IocpNetException.check(rc, "addPage");
    }

    /**
     * As {@link #addPage(long, String, String, byte[])} with a text body sent as UTF-8.
     * @param listener a WEBSOCKET listener
     * @param path starts with '/'
     * @param contentType e.g. "text/html; charset=utf-8"
     * @param body the page's text
     */
    public void addPage(long listener, String path, String contentType, String body) {
        addPage(listener, path, contentType, body.getBytes(StandardCharsets.UTF_8));
    }

    // ------------------------------------------------------------ internals

    private void finish() {
        nativePort.delete();
        attachments.clear();
        posted.clear();
        timers.clear(); // the engine stopped them all
        owned.clear(); // released during destroy already
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

    boolean timerActive(long token) { return timers.containsKey(token); }

    /** Forgets a timer; true when it was active. Its engine timer is stopped by the caller (id known) or by startTimer. */
    boolean forgetTimer(long token) { return timers.remove(token) != null; }

    void stopNativeTimer(long id) {
        if (state.get() == CLOSED) return; // every timer ended with the port
        boolean c;
        try { c = enter(); } catch (IllegalStateException closed) { return; }
        try { nativePort.timerStop(id); } finally { leave(c); } // NOT_FOUND: it ended already
    }

    void runTimer(long token) {
        PortTimer t = timers.get(token);
        if (t == null) return; // stopped meanwhile
        if (!t.repeating && timers.remove(token) == null) return; // a one-shot runs once
        t.task.accept(t);
    }

    private static final class Owned {
        final ByteBuffer buffer;
        final Consumer<ByteBuffer> released;

        Owned(ByteBuffer buffer, Consumer<ByteBuffer> released) {
            this.buffer = buffer;
            this.released = released;
        }
    }

    void released(long token) {
        Owned o = owned.remove(token);
        if (o != null && o.released != null) o.released.accept(o.buffer);
    }

    private int sendOwnedCore(long conn, ByteBuffer b, Consumer<ByteBuffer> released) {
        Objects.requireNonNull(b, "buffer");
        if (!b.isDirect()) throw new IllegalArgumentException("sendOwned needs a direct ByteBuffer");
        int pos = b.position(), len = b.remaining();
        long token = nextToken.incrementAndGet();
        owned.put(token, new Owned(b, released)); // before the call: the release may come at once
        boolean c = enter();
        int rc;
        try { rc = nativePort.sendOwned(conn, b, pos, len, token); }
        catch (RuntimeException | Error e) { owned.remove(token); throw e; }
        finally { leave(c); }
        if (rc == ErrorCode.OK) b.position(pos + len);
        else owned.remove(token); // refused: the engine keeps nothing and will not call back
        return rc;
    }

    private int sendVector(long conn, ByteBuffer[] buffers) {
        int n = buffers.length;
        Object[] parts = new Object[n];
        int[] offs = new int[n], lens = new int[n];
        for (int i = 0; i < n; i++) {
            ByteBuffer b = Objects.requireNonNull(buffers[i], "buffer");
            lens[i] = b.remaining();
            if (b.isDirect()) {
                parts[i] = b;
                offs[i] = b.position();
            } else if (b.hasArray()) {
                parts[i] = b.array();
                offs[i] = b.arrayOffset() + b.position();
            } else { // a read-only heap buffer hides its array
                byte[] copy = new byte[lens[i]];
                b.duplicate().get(copy);
                parts[i] = copy;
            }
        }
        boolean c = enter();
        int rc;
        try { rc = nativePort.sendv(conn, parts, offs, lens); } finally { leave(c); }
        if (rc == ErrorCode.OK)
            for (ByteBuffer b : buffers) b.position(b.limit());
        return rc;
    }
}
