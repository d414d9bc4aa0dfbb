package org.iocpnet;

/** The I/O mechanism under a port ({@code iocpnet_backend}). */
public enum Backend {
    /** Best available: IOCP on Windows; io_uring on Linux, else epoll. */
    AUTO(0),
    /** Windows I/O completion ports. */
    IOCP(1),
    /** Linux io_uring. */
    IO_URING(2),
    /** Linux epoll. */
    EPOLL(3);

    final int value;

    Backend(int value) { this.value = value; }

    static Backend of(long value) {
        for (Backend b : values()) if (b.value == value) return b;
        throw new IllegalArgumentException("unknown backend " + value);
    }
}
