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
 */
public record Stats(Backend backend, long connectionsOpen, long connectionsAccepted, long connectionsConnected,
                    long connectionsClosed, long bytesReceived, long bytesSent, long sendQueueBytes) {
}
