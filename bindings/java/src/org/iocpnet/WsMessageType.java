package org.iocpnet;

/** The type of a WebSocket message ({@link Port#webSocketMessageType}, {@link Port#setWebSocketSendType}). */
public enum WsMessageType {
    /** No message delivered yet. */
    NONE(0),
    /** A text message (UTF-8; the engine checks received text, not sent text). */
    TEXT(1),
    /** A binary message (the default for sends). */
    BINARY(2);

    final int value;

    WsMessageType(int value) { this.value = value; }

    static WsMessageType of(int v) {
        for (WsMessageType t : values()) if (t.value == v) return t;
        throw new IllegalArgumentException("unknown WebSocket message type " + v);
    }
}
