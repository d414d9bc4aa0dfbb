package org.iocpnet;

/**
 * Settings of a {@link Port} ({@code iocpnet_config}). Starts with the engine's
 * defaults; setters return {@code this} for chaining:
 * {@code new PortOptions().workerThreads(2).maxConnections(10_000)}.
 */
public final class PortOptions {
    int workerThreads;
    Backend backend = Backend.AUTO;
    int maxConnections;
    long maxSendQueueBytes;
    int idleTimeoutMs;
    int connectTimeoutMs;
    boolean tcpNoDelay = true;
    int keepaliveSeconds;

    /** Creates options with the engine's defaults. */
    public PortOptions() {}

    /**
     * @param n worker threads delivering callbacks; 0 (default) = one per CPU core
     * @return this
     */
    public PortOptions workerThreads(int n) { workerThreads = nonNegative(n, "workerThreads"); return this; }

    /**
     * @param b the backend; AUTO (default) = best available, overridden by env IOCPNET_BACKEND
     * @return this
     */
    public PortOptions backend(Backend b) { if (b == null) throw new NullPointerException("backend"); backend = b; return this; }

    /**
     * @param n connection limit; 0 (default) = unlimited; accepts beyond it are closed at once
     * @return this
     */
    public PortOptions maxConnections(int n) { maxConnections = nonNegative(n, "maxConnections"); return this; }

    /**
     * @param bytes per-connection send queue limit; 0 (default) = 4 MiB
     * @return this
     */
    public PortOptions maxSendQueueBytes(long bytes) {
        if (bytes < 0) throw new IllegalArgumentException("maxSendQueueBytes < 0");
        maxSendQueueBytes = bytes;
        return this;
    }

    /**
     * @param ms close a connection that received nothing for this long; 0 (default) = off
     * @return this
     */
    public PortOptions idleTimeoutMs(int ms) { idleTimeoutMs = nonNegative(ms, "idleTimeoutMs"); return this; }

    /**
     * @param ms fail a connect after this long; 0 (default) = the system's
     * @return this
     */
    public PortOptions connectTimeoutMs(int ms) { connectTimeoutMs = nonNegative(ms, "connectTimeoutMs"); return this; }

    /**
     * @param on TCP_NODELAY (default true)
     * @return this
     */
    public PortOptions tcpNoDelay(boolean on) { tcpNoDelay = on; return this; }

    /**
     * @param s TCP keepalive probes after this idle time; 0 (default) = off
     * @return this
     */
    public PortOptions keepaliveSeconds(int s) { keepaliveSeconds = nonNegative(s, "keepaliveSeconds"); return this; }

    static int nonNegative(int v, String what) {
        if (v < 0) throw new IllegalArgumentException(what + " < 0");
        return v;
    }
}
