package org.iocpnet;

import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A TLS configuration ({@code iocpnet_tls}) for {@link ConnectionOptions#tls}: certificates, trusted CAs,
 * verification and ALPN, shared by any number of listeners and connections. Everything is copied when it
 * is created. Close it when no new listener or connection needs it: those already made with it keep their
 * own reference. Thread-safe.
 *
 * <pre>{@code
 * try (TlsConfig tls = new TlsConfig(new TlsOptions().certificateFile("server.pem").privateKeyFile("server.key"))) {
 *     port.listen("0.0.0.0", 8443, new ConnectionOptions().tls(tls));
 * }
 * }</pre>
 */
public final class TlsConfig implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    private final TlsRole role;
    private final Handle handle;
    private final Cleaner.Cleanable cleanable;

    /**
     * Creates a configuration.
     * @param options role, certificate and key, CAs, verification, ALPN
     * @throws IocpNetException {@link ErrorCode#TLS} for unreadable or malformed PEM or a key that does not
     *         match the certificate (see {@link IocpNetException#detail()}); INVALID_ARG for a server without
     *         a certificate or key, or a bad ALPN list; UNSUPPORTED where the engine has no TLS provider
     */
    public TlsConfig(TlsOptions options) {
        Objects.requireNonNull(options, "options");
        role = options.role;
        String alpn = options.applicationProtocols == null ? null : String.join(",", options.applicationProtocols);
        long[] out = new long[1];
        int rc = IocpNetNative.tlsCreate(options.role.value, utf8(options.certificatePem), utf8(options.privateKeyPem),
                utf8(options.certificateFile), utf8(options.privateKeyFile), utf8(options.caPem), utf8(options.caFile),
                options.verifyPeer ? 1 : 0, utf8(alpn), out);
        IocpNetException.check(rc, "TlsConfig");
        handle = new Handle(out[0]);
        cleanable = CLEANER.register(this, handle); // a forgotten close() is released after collection
    }

    /**
     * @return the role it was made for
     */
    public TlsRole role() { return role; }

    /** Drops this object's reference; listeners and connections using the configuration keep theirs. Idempotent. */
    @Override
    public void close() { cleanable.clean(); }

    /** The native handle, kept alive until {@link #release()}: listen/connect take their own reference during the call. */
    long acquire() { return handle.acquire(); }

    void release() { handle.release(); }

    static byte[] utf8(String s) { return s == null ? null : s.getBytes(StandardCharsets.UTF_8); }

    /** The native reference and the calls using it; run() (close or the Cleaner) frees it once they are done. */
    private static final class Handle implements Runnable {
        private long tls;
        private int users;
        private boolean closed;

        Handle(long tls) { this.tls = tls; }

        synchronized long acquire() {
            if (closed) throw new IllegalStateException("TlsConfig is closed");
            users++;
            return tls;
        }

        synchronized void release() {
            if (--users == 0 && closed) free();
        }

        @Override
        public synchronized void run() {
            closed = true;
            if (users == 0) free();
        }

        private void free() {
            if (tls != 0) IocpNetNative.tlsRelease(tls);
            tls = 0;
        }
    }
}
