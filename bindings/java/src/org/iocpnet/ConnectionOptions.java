package org.iocpnet;

/**
 * Per-listener or per-outgoing-connection settings ({@code iocpnet_conn_options}).
 * Timeouts, nodelay and keepalive default to the port's ({@link PortOptions});
 * setters return {@code this}: {@code new ConnectionOptions().framing(Framing.LINE)}.
 */
public final class ConnectionOptions {
    static final int INHERIT = -1; // IOCPNET_INHERIT (0xFFFFFFFF) as a Java int

    Framing framing = Framing.RAW;
    int maxMessageSize;
    int idleTimeoutMs = INHERIT;
    int connectTimeoutMs = INHERIT;
    int tcpNoDelay = INHERIT;
    int keepaliveSeconds = INHERIT;
    boolean halfOpen;
    TlsConfig tls;
    String serverName, wsHost, wsPath;

    /** Creates options: RAW framing, everything else from the port. */
    public ConnectionOptions() {}

    /**
     * @param f message framing (default RAW)
     * @return this
     */
    public ConnectionOptions framing(Framing f) { if (f == null) throw new NullPointerException("framing"); framing = f; return this; }

    /**
     * @param bytes largest framed message; 0 (default) = 1 MiB; a peer exceeding it gets onFramingError
     * @return this
     */
    public ConnectionOptions maxMessageSize(int bytes) { maxMessageSize = PortOptions.nonNegative(bytes, "maxMessageSize"); return this; }

    /**
     * @param ms idle timeout; 0 = off
     * @return this
     */
    public ConnectionOptions idleTimeoutMs(int ms) { idleTimeoutMs = PortOptions.nonNegative(ms, "idleTimeoutMs"); return this; }

    /**
     * @param ms connect timeout (outgoing connections); 0 = off
     * @return this
     */
    public ConnectionOptions connectTimeoutMs(int ms) { connectTimeoutMs = PortOptions.nonNegative(ms, "connectTimeoutMs"); return this; }

    /**
     * @param on TCP_NODELAY
     * @return this
     */
    public ConnectionOptions tcpNoDelay(boolean on) { tcpNoDelay = on ? 1 : 0; return this; }

    /**
     * @param s keepalive idle time in seconds; 0 = off
     * @return this
     */
    public ConnectionOptions keepaliveSeconds(int s) { keepaliveSeconds = PortOptions.nonNegative(s, "keepaliveSeconds"); return this; }

    /**
     * @param on false (default): the peer's shutdown closes the connection (PEER_CLOSED); true: the
     *           connection stays open for sending and {@link Handler#onPeerShutdown} is called instead
     *           (see {@link Port#shutdownWrite})
     * @return this
     */
    public ConnectionOptions halfOpen(boolean on) { halfOpen = on; return this; }

    /**
     * @param config TLS with this configuration (role SERVER for {@link Port#listen}, CLIENT for
     *               {@link Port#connect}); null (default) = plain TCP. The listener or connection keeps its own
     *               reference, so the config may be closed after the call. With WEBSOCKET framing this is wss.
     * @return this
     */
    public ConnectionOptions tls(TlsConfig config) { tls = config; return this; }

    /**
     * @param name client: the name sent as SNI and verified in the server's certificate; null (default) = the
     *             host given to {@link Port#connect}
     * @return this
     */
    public ConnectionOptions serverName(String name) { serverName = name; return this; }

    /**
     * @param host WebSocket client: the Host header of the upgrade request; null (default) = "host:port" as given
     *             to {@link Port#connect}
     * @return this
     */
    public ConnectionOptions wsHost(String host) { wsHost = host; return this; }

    /**
     * @param path WebSocket client: the request path, e.g. "/chat?room=1"; null (default) = "/"
     * @return this
     */
    public ConnectionOptions wsPath(String path) { wsPath = path; return this; }
}
