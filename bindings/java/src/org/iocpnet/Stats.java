package org.iocpnet;

/**
 * A snapshot of a port's counters ({@code iocpnet_stats}).
 *
 * @param backend              the backend in use (never AUTO)
 * @param connectionsOpen      connections open now
 * @param connectionsAccepted  connections accepted since the port started
 * @param connectionsConnected outgoing connections established
 * @param connectionsClosed    connections closed
 * @param bytesReceived        bytes received
 * @param bytesSent            bytes sent
 * @param sendQueueBytes       bytes waiting in send queues now
 * @param tlsHandshakesFailed  incoming TLS connections refused: failed or timed-out handshakes
 *                             (such a connection gets no callback at all, so this is the only trace)
 */
public record Stats(Backend backend, long connectionsOpen, long connectionsAccepted, long connectionsConnected,
                    long connectionsClosed, long bytesReceived, long bytesSent, long sendQueueBytes,
                    long tlsHandshakesFailed) {
    /**
     * The record's shape before {@code tlsHandshakesFailed} was added (kept so code
     * written against it still compiles); the new counter is 0.
     */
    public Stats(Backend backend, long connectionsOpen, long connectionsAccepted, long connectionsConnected,
                 long connectionsClosed, long bytesReceived, long bytesSent, long sendQueueBytes) {
        this(backend, connectionsOpen, connectionsAccepted, connectionsConnected, connectionsClosed, bytesReceived,
             bytesSent, sendQueueBytes, 0);
    }
}
