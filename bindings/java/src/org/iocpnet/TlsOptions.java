package org.iocpnet;

import java.util.List;

/**
 * What a {@link TlsConfig} is made from ({@code iocpnet_tls_options}). Each PEM item is given either as text
 * or as a file path; null leaves it out. Setters return {@code this}:
 * {@code new TlsOptions().role(TlsRole.CLIENT).caFile("ca.pem")}.
 */
public final class TlsOptions {
    TlsRole role = TlsRole.SERVER;
    String certificatePem, privateKeyPem, certificateFile, privateKeyFile, caPem, caFile;
    boolean verifyPeer = true;
    List<String> applicationProtocols;

    /** Creates options: role SERVER, peer verification on, nothing else set. */
    public TlsOptions() {}

    /**
     * @param r SERVER (default) or CLIENT
     * @return this
     */
    public TlsOptions role(TlsRole r) { if (r == null) throw new NullPointerException("role"); role = r; return this; }

    /**
     * @param pem the certificate chain as PEM text (server: required, here or as a file; client: a client certificate)
     * @return this
     */
    public TlsOptions certificatePem(String pem) { certificatePem = pem; return this; }

    /**
     * @param pem the certificate's private key as PEM text
     * @return this
     */
    public TlsOptions privateKeyPem(String pem) { privateKeyPem = pem; return this; }

    /**
     * @param path the certificate chain as a PEM file
     * @return this
     */
    public TlsOptions certificateFile(String path) { certificateFile = path; return this; }

    /**
     * @param path the private key as a PEM file
     * @return this
     */
    public TlsOptions privateKeyFile(String path) { privateKeyFile = path; return this; }

    /**
     * @param pem trusted CAs as PEM text. Client: none (nor a file) = the system's store. Server: set = client
     *            certificates are required and verified against it.
     * @return this
     */
    public TlsOptions caPem(String pem) { caPem = pem; return this; }

    /**
     * @param path trusted CAs as a PEM file (see {@link #caPem})
     * @return this
     */
    public TlsOptions caFile(String path) { caFile = path; return this; }

    /**
     * @param on client: verify the server's chain and host name (default true); off for tests only
     * @return this
     */
    public TlsOptions verifyPeer(boolean on) { verifyPeer = on; return this; }

    /**
     * @param protocols ALPN protocols offered (client) or accepted (server), in order of preference, e.g.
     *                  "h2", "http/1.1"; none = no ALPN
     * @return this
     */
    public TlsOptions applicationProtocols(String... protocols) {
        applicationProtocols = protocols == null || protocols.length == 0 ? null : List.of(protocols);
        return this;
    }
}
