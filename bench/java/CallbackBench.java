import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.iocpnet.Handler;
import org.iocpnet.Port;
import org.iocpnet.PortOptions;

/**
 * Cost of one engine-to-Java callback, to compare JNI builds with and without
 * SWIG_JAVA_DETACH_ON_THREAD_END (bindings/java/build.sh --nodetach):
 * <pre>
 * java -cp build/java/iocpnet-1.0.0.jar:build/java/test-classes CallbackBench
 * java -Diocpnet.library.path=build/java/nodetach -cp ... CallbackBench
 * </pre>
 * "post chain": each posted task posts the next, so N callbacks run back to
 * back on one worker. "ping-pong": one connection echoing 64 bytes; two
 * onData upcalls (server and client) per round trip.
 */
public final class CallbackBench {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        postChain(n / 10); // warm-up (JIT)
        double post = postChain(n);
        pingPong(n / 20);
        double[] pp = pingPong(n / 4);
        System.out.printf("post chain: %d callbacks, %.2f us/callback, %.0f callbacks/s%n", n, post, 1e6 / post);
        System.out.printf("ping-pong: %d round trips, %.2f us/round trip, %.0f onData/s%n", (int) pp[0], pp[1], 2e6 / pp[1]);
    }

    /** @return microseconds per callback */
    static double postChain(int n) throws Exception {
        CompletableFuture<Long> done = new CompletableFuture<>();
        try (Port port = new Port(new PortOptions().workerThreads(1), new Handler() {})) {
            long start = System.nanoTime();
            port.post(new Runnable() {
                int left = n;

                @Override
                public void run() {
                    if (--left == 0) done.complete(System.nanoTime());
                    else port.post(this);
                }
            });
            long end = done.get(600, TimeUnit.SECONDS);
            return (end - start) / 1e3 / n;
        }
    }

    /** @return {round trips, microseconds per round trip} */
    static double[] pingPong(int rounds) throws Exception {
        CompletableFuture<Long> done = new CompletableFuture<>();
        byte[] msg = new byte[64];
        Handler echo = new Handler() {
            @Override
            public void onData(Port p, long conn, ByteBuffer data) { p.send(conn, data); }
        };
        Handler client = new Handler() {
            int left = rounds, have;

            @Override
            public void onData(Port p, long conn, ByteBuffer data) {
                have += data.remaining();
                if (have < msg.length) return;
                have = 0;
                if (--left == 0) done.complete(System.nanoTime());
                else p.send(conn, msg);
            }
        };
        try (Port s = new Port(new PortOptions().workerThreads(1), echo);
             Port c = new Port(new PortOptions().workerThreads(1), client)) {
            int port = s.listenerPort(s.listen("127.0.0.1", 0));
            long conn = c.connect("127.0.0.1", port);
            long start = System.nanoTime();
            c.send(conn, msg);
            long end = done.get(600, TimeUnit.SECONDS);
            return new double[] {rounds, (end - start) / 1e3 / rounds};
        }
    }
}
