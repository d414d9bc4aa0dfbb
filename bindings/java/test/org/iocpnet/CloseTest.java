package org.iocpnet;

import java.nio.ByteBuffer;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

@Timeout(120)
class CloseTest {
    static final class Tracker implements Handler {
        final Set<Long> open = ConcurrentHashMap.newKeySet();
        final ConcurrentHashMap<Long, Integer> closed = new ConcurrentHashMap<>();
        final CountDownLatch accepted;

        Tracker(int n) { accepted = new CountDownLatch(n); }

        @Override
        public void onAccept(Port port, long listener, long conn) {
            open.add(conn);
            accepted.countDown();
        }

        @Override
        public void onClose(Port port, long conn, int reason) { closed.put(conn, reason); }
    }

    @Test
    void closeWithLiveConnectionsClosesThemAndWaitsForCallbacks() throws Exception {
        final int n = 10;
        Tracker server = new Tracker(n);
        Tracker clientSide = new Tracker(0);
        try (Port clients = new Port(small(), clientSide)) {
            Port port = new Port(small(), server);
            int p = port.listenerPort(port.listen("127.0.0.1", 0));
            for (int i = 0; i < n; i++) clients.connect("127.0.0.1", p);
            await(server.accepted, "accepts");
            port.close();
            // close() returned: every onClose has already run, reason OK (this side closed).
            assertEquals(server.open, server.closed.keySet());
            for (int reason : server.closed.values()) assertEquals(ErrorCode.OK, reason);
            assertFalse(port.isOpen());
            assertThrows(IllegalStateException.class, () -> port.listen("127.0.0.1", 0));
            port.close(); // a second close does nothing
            until(() -> clientSide.closed.size() == n, "the clients to see the closes");
        }
    }

    @Test
    void sendAfterCloseThrowsNotFound() throws Exception {
        CompletableFuture<Long> accepted = new CompletableFuture<>();
        CompletableFuture<Integer> closedReason = new CompletableFuture<>();
        CompletableFuture<Integer> connected = new CompletableFuture<>();
        try (Port server = new Port(small(), new Handler() {
                @Override
                public void onAccept(Port port, long l, long conn) { accepted.complete(conn); }
             });
             Port client = new Port(small(), new Handler() {
                @Override
                public void onConnect(Port port, long conn, int status) { connected.complete(status); }

                @Override
                public void onClose(Port port, long conn, int reason) { closedReason.complete(reason); }
             })) {
            int p = server.listenerPort(server.listen("127.0.0.1", 0));
            long conn = client.connect("127.0.0.1", p);
            await(accepted);
            // Closing while still connecting would cancel instead (onConnect, no onClose).
            assertEquals(ErrorCode.OK, (int) await(connected));
            client.close(conn);
            IocpNetException e = assertThrows(IocpNetException.class, () -> client.send(conn, new byte[] {1}));
            assertEquals(ErrorCode.NOT_FOUND, e.code());
            assertEquals("IOCPNET_E_NOT_FOUND", e.name());
            assertFalse(e.detail().isEmpty(), "the engine's detail for the failed call");
            assertTrue(e.getMessage().contains(e.detail()), e.getMessage());
            assertEquals(ErrorCode.OK, (int) await(closedReason));
            e = assertThrows(IocpNetException.class, () -> client.close(conn, CloseMode.ABORT));
            assertEquals(ErrorCode.NOT_FOUND, e.code());
            e = assertThrows(IocpNetException.class, () -> client.trySend(conn, new byte[] {1}));
            assertEquals(ErrorCode.NOT_FOUND, e.code());
        }
    }

    @Test
    void closeInsideAHandlerThrowsIllegalStateAndLeavesThePortWorking() throws Exception {
        CompletableFuture<Throwable> fromHandler = new CompletableFuture<>();
        CompletableFuture<String> echoed = new CompletableFuture<>();
        try (Port server = new Port(small(), new Handler() {
                @Override
                public void onData(Port port, long conn, ByteBuffer data) {
                    try {
                        port.close();
                        fromHandler.complete(null);
                    } catch (Throwable t) {
                        fromHandler.complete(t);
                    }
                    port.send(conn, data); // the port is intact
                }
             });
             Port client = new Port(small(), new Handler() {
                @Override
                public void onData(Port port, long conn, ByteBuffer data) {
                    echoed.complete(java.nio.charset.StandardCharsets.US_ASCII.decode(data).toString());
                }
             })) {
            int p = server.listenerPort(server.listen("127.0.0.1", 0));
            long conn = client.connect("127.0.0.1", p);
            client.send(conn, "x".getBytes());
            Throwable t = await(fromHandler);
            assertInstanceOf(IllegalStateException.class, t);
            IocpNetException cause = assertInstanceOf(IocpNetException.class, t.getCause());
            assertEquals(ErrorCode.IN_CALLBACK, cause.code());
            assertEquals("x", await(echoed));
            assertTrue(server.isOpen());
        }
    }

    @Test
    void connectionsClosedByThePeerReportPeerClosed() throws Exception {
        CompletableFuture<Long> accepted = new CompletableFuture<>();
        CompletableFuture<Integer> reason = new CompletableFuture<>();
        CompletableFuture<Integer> connected = new CompletableFuture<>();
        try (Port server = new Port(small(), new Handler() {
                @Override
                public void onAccept(Port port, long l, long conn) { accepted.complete(conn); }

                @Override
                public void onClose(Port port, long conn, int r) { reason.complete(r); }
             });
             Port client = new Port(small(), new Handler() {
                @Override
                public void onConnect(Port port, long conn, int status) { connected.complete(status); }
             })) {
            int p = server.listenerPort(server.listen("127.0.0.1", 0));
            long conn = client.connect("127.0.0.1", p);
            await(accepted);
            assertEquals(ErrorCode.OK, (int) await(connected));
            client.close(conn);
            assertEquals(ErrorCode.PEER_CLOSED, (int) await(reason));
        }
    }
}
