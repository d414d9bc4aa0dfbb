package org.iocpnet;

/** How {@link Port#close(long, CloseMode)} ends a connection. */
public enum CloseMode {
    /** Send what is queued, then shut down the write side. */
    GRACEFUL(0),
    /** Drop the queue and reset the connection. */
    ABORT(1);

    final int value;

    CloseMode(int value) { this.value = value; }
}
