package org.iocpnet;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/** WebSocket through the binding against the JDK's own client (java.net.http.WebSocket, HttpClient). */
@Timeout(120)
class WebSocketTest {
    /** Echoes each message with the type it came with; records what the server saw. */
    static final class WsEcho implements Handler {
        final List<String> seen = new CopyOnWriteArrayList<>(); // "TEXT:12", "BINARY:70000"
        final Map<Long, Integer> closed = new ConcurrentHashMap<>();
        final List<Long> accepted = new CopyOnWriteArrayList<>();
        volatile String path, header, missing, host;
        volatile TlsInfo tls;
        volatile java.util.function.BiConsumer<Port, Long> onAcceptHook;

        @Override
        public void onAccept(Port port, long listener, long conn) {
            path = port.webSocketRequestPath(conn);
            header = port.webSocketRequestHeader(conn, "x-iocpnet-test"); // names are case-insensitive
            missing = port.webSocketRequestHeader(conn, "X-Not-Sent");
            host = port.webSocketRequestHeader(conn, "Host");
            java.util.function.BiConsumer<Port, Long> hook = onAcceptHook;
            if (hook != null) hook.accept(port, conn);
            try { tls = port.tlsInfo(conn); } catch (IocpNetException e) { assertEquals(ErrorCode.UNSUPPORTED, e.code()); }
            accepted.add(conn);
        }

        @Override
        public void onData(Port port, long conn, ByteBuffer data) {
            WsMessageType type = port.webSocketMessageType(conn); // the type of this very message
            seen.add(type + ":" + data.remaining());
            port.setWebSocketSendType(conn, type);
            port.send(conn, data);
        }

        @Override
        public void onClose(Port port, long conn, int reason) { closed.put(conn, reason); }
    }

    /** A JDK WebSocket listener that queues whole messages (String for text, byte[] for binary) and the close code. */
    static final class Client implements WebSocket.Listener {
        final BlockingQueue<Object> messages = new LinkedBlockingQueue<>(); // String for text, byte[] for binary
        final CompletableFuture<Integer> closeCode = new CompletableFuture<>();
        private final StringBuilder text = new StringBuilder();
        private final ByteArrayOutputStream bin = new ByteArrayOutputStream();

        @Override
        public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
            text.append(data);
            if (last) { messages.add(text.toString()); text.setLength(0); }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onBinary(WebSocket ws, ByteBuffer data, boolean last) {
            byte[] b = copy(data);
            bin.write(b, 0, b.length);
            if (last) { messages.add(bin.toByteArray()); bin.reset(); }
            ws.request(1);
            return null;
        }

        @Override
        public CompletionStage<?> onClose(WebSocket ws, int status, String reason) {
            closeCode.complete(status);
            return null;
        }

        Object next() throws InterruptedException {
            Object m = messages.poll(DEADLINE_S, TimeUnit.SECONDS);
            assertNotNull(m, "timed out waiting for a message");
            return m;
        }
    }

    private static final ConnectionOptions WS = new ConnectionOptions().framing(Framing.WEBSOCKET);

    @Test
    void jdkWebSocketTextAndBinaryEchoWithTypesPathHeaderAndClose() throws Exception {
        WsEcho echo = new WsEcho();
        try (Port sp = new Port(small(), echo)) {
            int port = sp.listenerPort(sp.listen("127.0.0.1", 0, WS));
            Client client = new Client();
            WebSocket ws = await(HttpClient.newHttpClient().newWebSocketBuilder().header("X-Iocpnet-Test", "header value")
                    .buildAsync(URI.create("ws://127.0.0.1:" + port + "/chat?room=7"), client));
            until(() -> echo.accepted.size() == 1, "onAccept"); // it may run just after the 101 went out
            assertEquals("/chat?room=7", echo.path);
            assertEquals("header value", echo.header);
            assertNull(echo.missing);
            assertNull(echo.tls); // plain ws

            await(ws.sendText("héllo, wörld", true));
            assertEquals("héllo, wörld", client.next());

            // Binary, over 64 KiB (a 64-bit length), in two fragments: one message at the server.
            byte[] bin = pattern(70_000, 2);
            await(ws.sendBinary(ByteBuffer.wrap(bin, 0, 30_000), false));
            await(ws.sendBinary(ByteBuffer.wrap(bin, 30_000, 40_000), true));
            assertArrayEquals(bin, (byte[]) client.next());
            int textBytes = "héllo, wörld".getBytes(StandardCharsets.UTF_8).length;
            assertEquals(List.of("TEXT:" + textBytes, "BINARY:70000"), new ArrayList<>(echo.seen));

            await(ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye"));
            assertEquals(WebSocket.NORMAL_CLOSURE, (int) await(client.closeCode)); // answered with the same code
            until(() -> echo.closed.size() == 1, "server onClose");
            assertEquals(ErrorCode.PEER_CLOSED, echo.closed.values().iterator().next());
        }
    }

    @Test
    void sendManyReachesEveryClientThenALocalCloseSends1000() throws Exception {
        WsEcho echo = new WsEcho();
        try (Port sp = new Port(small(), echo)) {
            int port = sp.listenerPort(sp.listen("127.0.0.1", 0, WS));
            HttpClient http = HttpClient.newHttpClient();
            List<Client> clients = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Client c = new Client();
                await(http.newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + port + "/room"), c));
                clients.add(c);
            }
            until(() -> echo.accepted.size() == 3, "3 accepted");
            long[] ids = echo.accepted.stream().mapToLong(Long::longValue).toArray();
            for (long id : ids) sp.setWebSocketSendType(id, WsMessageType.TEXT);
            assertEquals(3, sp.sendMany(ids, "to everybody".getBytes(StandardCharsets.UTF_8)));
            for (long id : ids) sp.close(id);
            for (Client c : clients) {
                assertEquals("to everybody", c.next());
                assertEquals(WebSocket.NORMAL_CLOSURE, (int) await(c.closeCode));
            }
        }
    }

    @Test
    void addPageIsServedToHttpClientAndOtherPathsGet404() throws Exception {
        try (Port sp = new Port(small(), new WsEcho())) {
            long l = sp.listen("127.0.0.1", 0, WS);
            int port = sp.listenerPort(l);
            String html = "<!doctype html><title>iocpnet</title><p>ünïcode</p>";
            sp.addPage(l, "/", "text/html; charset=utf-8", html);
            sp.addPage(l, "/data.bin", "application/octet-stream", new byte[] {0, 1, 2, (byte) 255});

            // HTTP/1.1 only: the default would offer an h2c upgrade, which is not a plain GET.
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            HttpResponse<String> page = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/?x=1")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, page.statusCode());
            assertEquals("text/html; charset=utf-8", page.headers().firstValue("content-type").orElse(""));
            assertEquals(html, page.body());
            HttpResponse<byte[]> data = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/data.bin")).build(),
                    HttpResponse.BodyHandlers.ofByteArray());
            assertArrayEquals(new byte[] {0, 1, 2, (byte) 255}, data.body());
            HttpResponse<String> missing = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/nothing")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(404, missing.statusCode());

            long raw = sp.listen("127.0.0.1", 0);
            assertEquals(ErrorCode.INVALID_ARG, assertThrows(IocpNetException.class, () -> sp.addPage(raw, "/", "text/plain", "x")).code());
            assertEquals(ErrorCode.INVALID_ARG, assertThrows(IocpNetException.class, () -> sp.addPage(l, "no-slash", "text/plain", "x")).code());
            sp.unlisten(raw);
            assertEquals(ErrorCode.NOT_FOUND, assertThrows(IocpNetException.class, () -> sp.addPage(raw, "/", "text/plain", "x")).code());
        }
    }

    @Test
    void wssWithTheJdkClientOverIocpnetTls() throws Exception {
        WsEcho echo = new WsEcho();
        try (Port sp = new Port(small(), echo); TlsConfig tls = new TlsConfig(TestCerts.server())) {
            int port = sp.listenerPort(sp.listen("127.0.0.1", 0, new ConnectionOptions().framing(Framing.WEBSOCKET).tls(tls)));
            Client client = new Client();
            HttpClient https = HttpClient.newBuilder().sslContext(TestCerts.trustingTestCa()).build(); // SAN has IP 127.0.0.1
            WebSocket ws = await(https.newWebSocketBuilder().header("X-Iocpnet-Test", "secure")
                    .buildAsync(URI.create("wss://127.0.0.1:" + port + "/secure"), client));
            until(() -> echo.accepted.size() == 1, "onAccept");
            assertEquals("/secure", echo.path);
            assertEquals("secure", echo.header);
            assertNotNull(echo.tls);
            assertTrue(echo.tls.version().startsWith("TLSv1."), echo.tls.version());

            await(ws.sendText("over TLS", true));
            assertEquals("over TLS", client.next());
            await(ws.sendClose(WebSocket.NORMAL_CLOSURE, ""));
            assertEquals(WebSocket.NORMAL_CLOSURE, (int) await(client.closeCode));
            until(() -> echo.closed.size() == 1, "server onClose");
            assertEquals(ErrorCode.PEER_CLOSED, echo.closed.values().iterator().next());
        }
    }

    @Test
    void webSocketCallsOnAPlainConnectionAreInvalidArg() throws Exception {
        Events client = new Events();
        try (Port sp = new Port(small(), new Events()); Port cp = new Port(small(), client)) {
            long c = cp.connect("127.0.0.1", sp.listenerPort(sp.listen("127.0.0.1", 0)));
            until(() -> client.connected.containsKey(c), "onConnect");
            assertEquals(ErrorCode.INVALID_ARG, assertThrows(IocpNetException.class, () -> cp.setWebSocketSendType(c, WsMessageType.TEXT)).code());
            assertEquals(ErrorCode.INVALID_ARG, assertThrows(IocpNetException.class, () -> cp.webSocketMessageType(c)).code());
            assertEquals(ErrorCode.INVALID_ARG, assertThrows(IocpNetException.class, () -> cp.webSocketRequestPath(c)).code());
            assertEquals(ErrorCode.NOT_FOUND, assertThrows(IocpNetException.class, () -> cp.webSocketRequestHeader(999_999, "Origin")).code());
        }
    }
}
