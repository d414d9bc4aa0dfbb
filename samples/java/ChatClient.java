import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.iocpnet.ConnectionOptions;
import org.iocpnet.ErrorCode;
import org.iocpnet.Framing;
import org.iocpnet.Handler;
import org.iocpnet.IocpNetException;
import org.iocpnet.Port;
import org.iocpnet.PortOptions;

/**
 * A console client for samples/chat_server.c:
 * <pre>java -cp iocpnet-1.0.0.jar:. ChatClient [--host 127.0.0.1] [--port 9034]</pre>
 * Every stdin line goes to the server; every line from the server is printed.
 * Exits when stdin ends (after a graceful close) or when the server closes.
 */
public final class ChatClient {
    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int tcpPort = 9034;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = args[++i];
                case "--port" -> tcpPort = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: ChatClient [--host HOST] [--port PORT]");
                    System.exit(2);
                }
            }
        }
        // 0 = the server (or our own close) ended it; otherwise a failed connect.
        CompletableFuture<Integer> ended = new CompletableFuture<>();
        Handler handler = new Handler() {
            @Override
            public void onConnect(Port port, long conn, int status) {
                if (status == ErrorCode.SHUTTING_DOWN) {
                    ended.complete(0); // stdin ended before the connect finished: we cancelled it
                } else if (status != ErrorCode.OK) {
                    System.err.println("chat: cannot connect: " + ErrorCode.message(status));
                    ended.complete(1);
                }
            }

            @Override
            public void onData(Port port, long conn, ByteBuffer line) {
                // LINE framing: one call per line, without its "\n".
                System.out.println(StandardCharsets.UTF_8.decode(line));
                System.out.flush();
            }

            @Override
            public void onClose(Port port, long conn, int reason) {
                if (reason != ErrorCode.OK) System.err.println("chat: connection closed (" + ErrorCode.message(reason) + ")");
                ended.complete(0);
            }
        };
        try (Port port = new Port(new PortOptions().workerThreads(1), handler)) {
            long conn = port.connect(host, tcpPort, new ConnectionOptions().framing(Framing.LINE));
            Thread input = new Thread(() -> pump(port, conn), "stdin");
            input.setDaemon(true); // a server close must not wait for a blocked stdin read
            input.start();
            int status = ended.get();
            System.out.flush();
            port.close();
            System.exit(status);
        }
    }

    /** Sends stdin line by line; at its end closes gracefully (queued lines still go out). */
    private static void pump(Port port, long conn) {
        try (BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
            String line;
            while ((line = in.readLine()) != null) {
                port.send(conn, line.getBytes(StandardCharsets.UTF_8)); // LINE framing adds the "\n"
            }
            port.close(conn);
        } catch (IocpNetException e) {
            if (e.code() != ErrorCode.NOT_FOUND) System.err.println("chat: " + e.getMessage()); // NOT_FOUND: already closed
        } catch (Exception e) {
            System.err.println("chat: " + e);
        }
    }
}
