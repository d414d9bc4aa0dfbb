package org.iocpnet;

/**
 * The session facts of a TLS connection ({@link Port#tlsInfo}): "" for what is not known (before the
 * handshake; after a failure only {@code error}).
 *
 * @param version     "TLSv1.3", "TLSv1.2"
 * @param cipher      e.g. "TLS_AES_256_GCM_SHA384"
 * @param alpn        the negotiated ALPN protocol, "" when none
 * @param peerSubject the peer certificate's subject, e.g. "CN=localhost,O=iocpnet", "" when none
 * @param error       why the handshake or the session failed, "" when it did not (readable in
 *                    {@link Handler#onConnect} with {@link ErrorCode#TLS} and in {@link Handler#onClose})
 */
public record TlsInfo(String version, String cipher, String alpn, String peerSubject, String error) {
}
