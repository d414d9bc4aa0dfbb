package org.iocpnet;

/**
 * The engine's error codes (iocpnet.h, {@code IOCPNET_ERRNO_MAP}): values that
 * never change. {@code onConnect}'s status and {@code onClose}'s reason use them too.
 */
public final class ErrorCode {
    private ErrorCode() {}

    /** Success. */
    public static final int OK = 0;
    /** Invalid argument. */
    public static final int INVALID_ARG = -1;
    /** Out of memory. */
    public static final int NO_MEMORY = -2;
    /** Unknown or already closed id. */
    public static final int NOT_FOUND = -3;
    /** Send queue full. */
    public static final int WOULD_BLOCK = -4;
    /** Address already in use. */
    public static final int ADDR_IN_USE = -5;
    /** Invalid or unresolvable address. */
    public static final int ADDR_INVALID = -6;
    /** Connection refused. */
    public static final int CONN_REFUSED = -7;
    /** Connection reset by peer. */
    public static final int CONN_RESET = -8;
    /** Connection closed by peer. */
    public static final int PEER_CLOSED = -9;
    /** Timed out. */
    public static final int TIMEOUT = -10;
    /** Port is shutting down. */
    public static final int SHUTTING_DOWN = -11;
    /** Not allowed inside a callback. */
    public static final int IN_CALLBACK = -12;
    /** Not supported here. */
    public static final int UNSUPPORTED = -13;
    /** Limit reached. */
    public static final int LIMIT = -14;
    /** System error. */
    public static final int SYSTEM = -15;
    /** Message larger than max_message_size. */
    public static final int MESSAGE_TOO_LARGE = -16;
    /** Network or host unreachable. */
    public static final int UNREACHABLE = -17;
    /** The write side was shut down ({@link Port#shutdownWrite}): nothing more can be sent. */
    public static final int WRITE_SHUTDOWN = -18;
    /** The peer broke the protocol (WebSocket). */
    public static final int PROTOCOL = -19;
    /** A TLS handshake or verification failed, or a TLS session broke. */
    public static final int TLS = -20;

    /**
     * @param code an iocpnet error code
     * @return the engine's name of a code, e.g. {@code "IOCPNET_E_NOT_FOUND"}
     */
    public static String name(int code) { return IocpNetNative.errName(code); }

    /**
     * @param code an iocpnet error code
     * @return the engine's description of a code, e.g. {@code "connection refused"}
     */
    public static String message(int code) { return IocpNetNative.strError(code); }
}
