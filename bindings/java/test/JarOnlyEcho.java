import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.iocpnet.Handler;
import org.iocpnet.Port;
import org.iocpnet.PortOptions;

/**
 * Run with nothing but the jar (and this class) on the class path: proves the
 * jar loads its own native library. Prints "echo ok" and exits 0 on a round trip.
 */
public final class JarOnlyEcho {
    public static void main(String[] args) throws Exception {
        byte[] msg = "hello from the jar".getBytes(StandardCharsets.UTF_8);
        CompletableFuture<String> reply = new CompletableFuture<>();
        StringBuilder got = new StringBuilder();
        Handler echo = new Handler() {
            @Override
            public void onData(Port port, long conn, ByteBuffer data) { port.send(conn, data); }
        };
        try (Port server = new Port(new PortOptions().workerThreads(1), echo);
             Port client = new Port(new PortOptions().workerThreads(1), new Handler() {
                 @Override
                 public void onData(Port port, long conn, ByteBuffer data) {
                     got.append(StandardCharsets.UTF_8.decode(data));
                     if (got.length() >= msg.length) reply.complete(got.toString());
                 }
             })) {
            int tcpPort = server.listenerPort(server.listen("127.0.0.1", 0));
            long conn = client.connect("127.0.0.1", tcpPort);
            client.send(conn, msg);
            String r = reply.get(30, TimeUnit.SECONDS);
            if (!r.equals(new String(msg, StandardCharsets.UTF_8))) {
                System.out.println("echo mismatch: " + r);
                System.exit(1);
            }
            System.out.println("echo ok (" + r.length() + " bytes, engine " + org.iocpnet.IocpNet.nativeVersion() + ")");
        }
    }
}
