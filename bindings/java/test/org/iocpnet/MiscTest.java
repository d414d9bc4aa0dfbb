package org.iocpnet;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

@Timeout(120)
class MiscTest {
    @Test
    void errorConstantsMatchTheEngineTable() throws Exception {
        int checked = 0;
        for (Field f : ErrorCode.class.getFields()) {
            if (!Modifier.isStatic(f.getModifiers()) || f.getType() != int.class) continue;
            int code = f.getInt(null);
            String expected = code == 0 ? "IOCPNET_OK" : "IOCPNET_E_" + f.getName();
            assertEquals(expected, ErrorCode.name(code), "constant " + f.getName());
            checked++;
        }
        assertEquals(21, checked); // OK and the 20 errors, through TLS (-20)
        // The codes are 0, -1, -2, ...: the one past the last constant is not in the engine's table.
        assertEquals("IOCPNET_E_UNKNOWN", ErrorCode.name(-checked));
        assertEquals("IOCPNET_E_UNKNOWN", ErrorCode.name(-999));
        assertEquals("connection refused", ErrorCode.message(ErrorCode.CONN_REFUSED));
        assertEquals(IocpNet.VERSION, IocpNet.nativeVersion());
    }

    @Test
    void addressesStatsAttachmentsAndUnlisten() throws Exception {
        CompletableFuture<Long> accepted = new CompletableFuture<>();
        CompletableFuture<Integer> connected = new CompletableFuture<>();
        try (Port s = new Port(small(), new Handler() {
                @Override
                public void onAccept(Port port, long l, long conn) { accepted.complete(conn); }
             });
             Port c = new Port(small(), new Handler() {
                @Override
                public void onConnect(Port port, long conn, int status) { connected.complete(status); }
             })) {
            long l = s.listen("127.0.0.1", 0);
            int p = s.listenerPort(l);
            assertTrue(p > 0 && p < 65536);
            long conn = c.connect("127.0.0.1", p);
            assertEquals(ErrorCode.OK, (int) await(connected));
            long sc = await(accepted);
            assertEquals("127.0.0.1:" + p, c.peerAddress(conn));
            assertEquals(c.localAddress(conn), s.peerAddress(sc));
            assertEquals("127.0.0.1:" + p, s.localAddress(sc));

            c.attach(conn, "session state");
            assertEquals("session state", c.<String>attachment(conn));
            c.attach(conn, null);
            assertNull(c.attachment(conn));

            Stats st = s.stats();
            assertNotEquals(Backend.AUTO, st.backend());
            assertEquals(1, st.connectionsAccepted());
            assertEquals(1, st.connectionsOpen());
            assertEquals(1, c.stats().connectionsConnected());

            s.unlisten(l);
            IocpNetException e = assertThrows(IocpNetException.class, () -> s.listenerPort(l));
            assertEquals(ErrorCode.NOT_FOUND, e.code());
            c.close(conn);
            IocpNetException gone = assertThrows(IocpNetException.class, () -> c.attach(conn, "late"));
            assertEquals(ErrorCode.NOT_FOUND, gone.code());
        }
    }

    @Test
    void connectToAClosedPortReportsRefused() throws Exception {
        int free;
        try (java.net.ServerSocket ss = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            free = ss.getLocalPort();
        }
        CompletableFuture<Integer> status = new CompletableFuture<>();
        try (Port c = new Port(small(), new Handler() {
                @Override
                public void onConnect(Port port, long conn, int st) { status.complete(st); }
             })) {
            c.connect("127.0.0.1", free);
            assertEquals(ErrorCode.CONN_REFUSED, (int) await(status));
        }
    }

    @Test
    void listenErrorsCarryNameAndDetail() throws Exception {
        try (Port a = new Port(small(), new Handler() {}); Port b = new Port(small(), new Handler() {})) {
            int p = a.listenerPort(a.listen("127.0.0.1", 0));
            IocpNetException e = assertThrows(IocpNetException.class, () -> b.listen("127.0.0.1", p));
            assertEquals(ErrorCode.ADDR_IN_USE, e.code());
            assertEquals("IOCPNET_E_ADDR_IN_USE", e.name());
            assertTrue(e.getMessage().contains("IOCPNET_E_ADDR_IN_USE"), e.getMessage());
            e = assertThrows(IocpNetException.class, () -> b.listen("not an address!", 0));
            assertEquals(ErrorCode.ADDR_INVALID, e.code());
            assertThrows(IllegalArgumentException.class, () -> b.listen("127.0.0.1", 70000));
        }
    }

    @Test
    void logHookReceivesEngineMessages() throws Exception {
        CopyOnWriteArrayList<String> logs = new CopyOnWriteArrayList<>();
        IocpNet.setLog(IocpNet.LOG_WARN, (level, msg) -> {
            if (level <= IocpNet.LOG_WARN) logs.add(msg);
        });
        try (Port s = new Port(small().maxConnections(1), new Handler() {});
             Port c = new Port(small(), new Handler() {})) {
            int p = s.listenerPort(s.listen("127.0.0.1", 0));
            c.connect("127.0.0.1", p);
            c.connect("127.0.0.1", p); // over max_connections: closed at once, with a warning
            until(() -> logs.stream().anyMatch(m -> m.contains("max_connections")), "the max_connections warning");
        } finally {
            IocpNet.setLog(IocpNet.LOG_ERROR, null);
        }
        IocpNetException e = assertThrows(IocpNetException.class, () -> IocpNet.setLog(9, (l, m) -> {}));
        assertEquals(ErrorCode.INVALID_ARG, e.code());
    }

    @Test
    void unsupportedBackendFailsCreate() {
        IocpNetException e = assertThrows(IocpNetException.class,
                () -> new Port(small().backend(Backend.IOCP), new Handler() {}));
        assertEquals(ErrorCode.UNSUPPORTED, e.code());
    }
    @Test
    void idleTimeoutsFromPortAndConnectionOptionsClose() throws Exception {
        CompletableFuture<Integer> portWide = new CompletableFuture<>();
        CompletableFuture<Integer> perListener = new CompletableFuture<>();
        try (Port s = new Port(small().idleTimeoutMs(200), new Handler() {
                @Override
                public void onClose(Port port, long conn, int reason) {
                    (port.attachment(conn) != null ? perListener : portWide).complete(reason);
                }

                @Override
                public void onAccept(Port port, long l, long conn) {
                    if (l == slowListener.get()) port.attach(conn, "per-listener");
                }
             });
             Port c = new Port(small(), new Handler() {})) {
            int p1 = s.listenerPort(s.listen("127.0.0.1", 0));
            slowListener.set(s.listen("127.0.0.1", 0, new ConnectionOptions().idleTimeoutMs(300)));
            int p2 = s.listenerPort(slowListener.get());
            c.connect("127.0.0.1", p1); // sends nothing: the port's 200 ms applies
            c.connect("127.0.0.1", p2); // the listener's 300 ms applies
            assertEquals(ErrorCode.TIMEOUT, (int) await(portWide));
            assertEquals(ErrorCode.TIMEOUT, (int) await(perListener));
        }
    }

    private final java.util.concurrent.atomic.AtomicLong slowListener = new java.util.concurrent.atomic.AtomicLong(-1);
}
