import java.nio.ByteBuffer;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import org.iocpnet.Backend;
import org.iocpnet.CloseMode;
import org.iocpnet.Handler;
import org.iocpnet.Port;
import org.iocpnet.PortOptions;
import org.iocpnet.Stats;

/**
 * An echo server on the Java binding, for bench/run.py:
 * <pre>python3 bench/run.py --scenario echo-64 --server java="java -cp build/java/iocpnet-1.0.0.jar:build/java/test-classes EchoServer"</pre>
 * Options as the C samples: --host, --port (0 = any), --threads, --backend.
 * Prints "listening on HOST:PORT"; SIGTERM closes the port and exits 0.
 */
public final class EchoServer {
    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        int tcpPort = 9035, threads = 0;
        Backend backend = Backend.AUTO;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = args[++i];
                case "--port" -> tcpPort = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--backend" -> backend = Backend.valueOf(args[++i].toUpperCase(Locale.ROOT));
                default -> {
                    System.err.println("usage: EchoServer [--host H] [--port P] [--threads N] [--backend auto|io_uring|epoll]");
                    System.exit(2);
                }
            }
        }
        Port port = new Port(new PortOptions().workerThreads(threads).backend(backend), new Handler() {
            @Override
            public void onData(Port p, long conn, ByteBuffer data) {
                // The direct buffer over the engine's receive memory goes straight
                // back into the send queue: one copy (the engine's), none in Java.
                if (!p.trySend(conn, data)) p.close(conn, CloseMode.ABORT); // a peer that does not read
            }
        });
        long listener = port.listen(host, tcpPort);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            Stats s = port.stats();
            port.close();
            System.out.println("statistics: backend " + s.backend() + ", accepted " + s.connectionsAccepted()
                    + ", bytes received " + s.bytesReceived());
            System.out.flush();
            stopped.countDown();
            Runtime.getRuntime().halt(0); // SIGTERM is the normal way to stop: exit status 0
        }, "shutdown"));
        System.out.println("listening on " + host + ":" + port.listenerPort(listener));
        System.out.flush();
        stopped.await();
    }
}
