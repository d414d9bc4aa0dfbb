package org.iocpnet;

import java.io.InputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.iocpnet.TestSupport.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Issue 12's "works with ...": the iocpnet WebSocket client over TLS, idle timeout, pause/resume and
 * backpressure on WebSocket and TLS connections, through the binding.
 */
@Timeout(120)
class WebSocketFlowTest {
    @Test
    void iocpnetWssClientWithHostPathAndServerNameAgainstAnIocpnetWssServer() throws Exception {
        WebSocketTest.WsEcho echo = new WebSocketTest.WsEcho();
        List<WsMessageType> types = new CopyOnWriteArrayList<>();
        Events client = new Events();
        client.onDataHook = (p, c) -> types.add(p.webSocketMessageType(c));
        try (Port sp = new Port(small(), echo); Port cp = new Port(small(), client);
             TlsConfig serverTls = new TlsConfig(TestCerts.server());
             TlsConfig clientTls = new TlsConfig(new TlsOptions().role(TlsRole.CLIENT).caFile(TestCerts.path("ca.pem")))) {
            int port = sp.listenerPort(sp.listen("127.0.0.1", 0, new ConnectionOptions().framing(Framing.WEBSOCKET).tls(serverTls)));
            long c = cp.connect("127.0.0.1", port, new ConnectionOptions().framing(Framing.WEBSOCKET).tls(clientTls)
                    .serverName("localhost").wsHost("chat.example:443").wsPath("/feed?x=1"));
            until(() -> client.connected.containsKey(c), "onConnect");
            assertEquals(ErrorCode.OK, client.connected.get(c));
            until(() -> echo.accepted.size() == 1, "server onAccept");
            assertEquals("/feed?x=1", echo.path);
            assertEquals("chat.example:443", echo.host);
            assertTrue(cp.tlsInfo(c).peerSubject().contains("CN=localhost"));

            cp.setWebSocketSendType(c, WsMessageType.TEXT);
            cp.send(c, "first".getBytes(StandardCharsets.UTF_8));
            cp.setWebSocketSendType(c, WsMessageType.BINARY);
            cp.send(c, new byte[] {0, (byte) 255, 1});
            until(() -> client.messages.getOrDefault(c, List.of()).size() == 2, "2 echoed messages");
            assertEquals("first", new String(client.messages.get(c).get(0), StandardCharsets.UTF_8));
            assertArrayEquals(new byte[] {0, (byte) 255, 1}, client.messages.get(c).get(1));
            assertEquals(List.of(WsMessageType.TEXT, WsMessageType.BINARY), new ArrayList<>(types));

            cp.close(c); // a close frame, then close_notify
            until(() -> echo.closed.size() == 1, "server onClose");
            assertEquals(ErrorCode.PEER_CLOSED, echo.closed.values().iterator().next());
        }
    }

    @Test
    void refusedUpgradeGivesOnConnectProtocol() throws Exception {
        // The JDK's own HTTP server answers the upgrade request with 403 instead of 101.
        com.sun.net.httpserver.HttpServer http = com.sun.net.httpserver.HttpServer.create(
                new java.net.InetSocketAddress("127.0.0.1", 0), 0);
        http.createContext("/", ex -> { ex.sendResponseHeaders(403, -1); ex.close(); });
        http.start();
        Events client = new Events();
        try (Port cp = new Port(small(), client)) {
            long c = cp.connect("127.0.0.1", http.getAddress().getPort(),
                    new ConnectionOptions().framing(Framing.WEBSOCKET).wsPath("/private"));
            until(() -> client.connected.containsKey(c), "onConnect");
            assertEquals(ErrorCode.PROTOCOL, client.connected.get(c));
        } finally {
            http.stop(0);
        }
    }

    @Test
    void idleTimeoutClosesAWebSocketWith1001() throws Exception {
        WebSocketTest.WsEcho echo = new WebSocketTest.WsEcho();
        try (Port sp = new Port(small(), echo)) {
            int port = sp.listenerPort(sp.listen("127.0.0.1", 0,
                    new ConnectionOptions().framing(Framing.WEBSOCKET).idleTimeoutMs(300)));
            WebSocketTest.Client client = new WebSocketTest.Client();
            await(HttpClient.newHttpClient().newWebSocketBuilder().buildAsync(URI.create("ws://127.0.0.1:" + port + "/"), client));
            assertEquals(1001, (int) await(client.closeCode)); // "going away"
            until(() -> echo.closed.size() == 1, "server onClose");
            assertEquals(ErrorCode.TIMEOUT, echo.closed.values().iterator().next());
        }
    }

    @Test
    void pausedWebSocketHoldsMessagesUntilResumedInOrder() throws Exception {
        WebSocketTest.WsEcho echo = new WebSocketTest.WsEcho();
        echo.onAcceptHook = (p, c) -> p.pauseReceive(c);
        try (Port sp = new Port(small(), echo)) {
            int port = sp.listenerPort(sp.listen("127.0.0.1", 0, new ConnectionOptions().framing(Framing.WEBSOCKET)));
            WebSocketTest.Client client = new WebSocketTest.Client();
            WebSocket ws = await(HttpClient.newHttpClient().newWebSocketBuilder()
                    .buildAsync(URI.create("ws://127.0.0.1:" + port + "/"), client));
            until(() -> echo.accepted.size() == 1, "onAccept");
            for (int i = 1; i <= 3; i++) await(ws.sendText("x".repeat(i * 10), true));
            Thread.sleep(300);
            assertTrue(echo.seen.isEmpty(), "paused: nothing delivered");

            sp.resumeReceive(echo.accepted.get(0));
            until(() -> echo.seen.size() == 3, "3 messages after resume");
            assertEquals(List.of("TEXT:10", "TEXT:20", "TEXT:30"), new ArrayList<>(echo.seen));
        }
    }

    @Test
    void tlsBackpressureTrySendRefusesThenOnDrainAfterTheReaderCatchesUp() throws Exception {
        AtomicLong drains = new AtomicLong();
        Events server = new Events() {
            @Override
            public void onDrain(Port port, long conn) { drains.incrementAndGet(); }
        };
        try (Port sp = new Port(small().maxSendQueueBytes(256 * 1024), server);
             TlsConfig tls = new TlsConfig(TestCerts.server())) {
            int port = sp.listenerPort(sp.listen("127.0.0.1", 0, new ConnectionOptions().tls(tls)));
            Socket raw = new Socket();
            raw.setReceiveBufferSize(64 * 1024);
            raw.connect(new java.net.InetSocketAddress("127.0.0.1", port));
            try (SSLSocket s = (SSLSocket) TestCerts.trustingTestCa().getSocketFactory().createSocket(raw, "localhost", port, true)) {
                SSLParameters params = s.getSSLParameters();
                params.setEndpointIdentificationAlgorithm("HTTPS");
                s.setSSLParameters(params);
                s.startHandshake();
                until(() -> server.accepted.size() == 1, "onAccept");
                long c = server.accepted.get(0);

                // The client reads nothing yet: the queue (plaintext bytes) fills up and trySend says no.
                byte[] chunk = pattern(64 * 1024, 2);
                int accepted = 0;
                while (accepted < 1000 && sp.trySend(c, chunk)) accepted++;
                assertTrue(accepted >= 1 && accepted < 1000, "accepted " + accepted);
                long queued = sp.queuedBytes(c);
                assertTrue(queued <= 256 * 1024 + chunk.length, "queued " + queued); // the bound counts plaintext

                InputStream in = s.getInputStream();
                for (int i = 0; i < accepted; i++) assertArrayEquals(chunk, in.readNBytes(chunk.length), "chunk " + i);
                until(() -> drains.get() >= 1, "onDrain");
            }
        }
    }
}
