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
}
