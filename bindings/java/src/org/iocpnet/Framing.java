package org.iocpnet;

/** How a connection's byte stream is cut into {@code onData} calls ({@code iocpnet_framing}). */
public enum Framing {
    /** A byte stream: onData gets whatever arrived. */
    RAW(0),
    /** Each message is a 4-byte big-endian length, then the payload; send adds the header. */
    LENGTH_PREFIX(1),
    /** Lines ending in "\n" ("\r\n" accepted); send adds the "\n". */
    LINE(2),
    /** RFC 6455 WebSocket messages (the engine does the upgrade, pings and close frames); send is one message. */
    WEBSOCKET(3);

    final int value;

    Framing(int value) { this.value = value; }
}
