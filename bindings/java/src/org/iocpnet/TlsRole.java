package org.iocpnet;

/** Which end of the TLS handshake a {@link TlsConfig} is for. */
public enum TlsRole {
    /** Accepted connections ({@link Port#listen}): needs a certificate and its private key. */
    SERVER(0),
    /** Outgoing connections ({@link Port#connect}): verifies the server (by default). */
    CLIENT(1);

    final int value;

    TlsRole(int value) { this.value = value; }
}
