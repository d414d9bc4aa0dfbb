import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * End-to-end: the C chat server and two ChatClient processes (jar only).
 * <pre>java ChatE2E PATH/chat_server CLASSPATH</pre>
 * Checks each client's welcome line, that a line typed in one reaches the
 * other, that a client exits 0 at stdin EOF and one exits when the server
 * shuts down; prints "chat e2e ok" and exits 0, else says what failed and exits 1.
 */
public final class ChatE2E {
    static final int DEADLINE_S = 30;

    /** A failed check; main reports it after the child processes are gone. */
    static final class Failure extends Exception {
        Failure(String why) { super(why); }
    }

    public static void main(String[] args) throws Exception {
        try {
            run(args);
            System.out.println("chat e2e ok");
        } catch (Failure f) {
            System.out.println("chat e2e FAILED: " + f.getMessage());
            System.exit(1);
        }
    }

    static void run(String[] args) throws Exception {
        Process server = new ProcessBuilder(args[0], "--host", "127.0.0.1", "--port", "0", "--threads", "1")
                .redirectErrorStream(true).start();
        Process a = null, b = null;
        try {
            LinkedBlockingQueue<String> srvOut = lines(server);
            String first = srvOut.poll(DEADLINE_S, TimeUnit.SECONDS);
            Matcher m = first == null ? null : Pattern.compile("listening on (\\S+):(\\d+)").matcher(first);
            if (m == null || !m.find()) fail("chat server did not print 'listening on': " + first);
            String port = m.group(2);
            a = client(args[1], port);
            LinkedBlockingQueue<String> aOut = lines(a);
            expect(aOut, "* welcome guest-", "client A's welcome");
            b = client(args[1], port);
            LinkedBlockingQueue<String> bOut = lines(b);
            expect(bOut, "* welcome guest-", "client B's welcome");
            expect(aOut, "* guest-", "A told that B joined");
            OutputStream bIn = b.getOutputStream();
            bIn.write("hello from java\n".getBytes(StandardCharsets.UTF_8));
            bIn.flush();
            String relayed = expect(aOut, "guest-", "B's line relayed to A");
            if (!relayed.endsWith(": hello from java")) fail("relayed line is wrong: " + relayed);
            bIn.close(); // EOF: B closes gracefully and exits
            if (!b.waitFor(DEADLINE_S, TimeUnit.SECONDS)) fail("client B did not exit after stdin EOF");
            if (b.exitValue() != 0) fail("client B exit status " + b.exitValue());
            server.destroy(); // SIGTERM: the server says goodbye and closes A
            if (!a.waitFor(DEADLINE_S, TimeUnit.SECONDS)) fail("client A did not exit after the server closed");
            if (a.exitValue() != 0) fail("client A exit status " + a.exitValue());
            expect(aOut, "* server shutting down", "A told the server is going");
        } finally {
            for (Process p : new Process[] {a, b, server}) if (p != null) p.destroyForcibly();
        }
    }

    static Process client(String cp, String port) throws Exception {
        String java = System.getProperty("java.home") + "/bin/java";
        return new ProcessBuilder(java, "-cp", cp, "ChatClient", "--host", "127.0.0.1", "--port", port)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    }

    static LinkedBlockingQueue<String> lines(Process p) {
        LinkedBlockingQueue<String> q = new LinkedBlockingQueue<>();
        Thread t = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                for (String l; (l = r.readLine()) != null; ) q.add(l);
            } catch (Exception ignored) {
                // the process ended
            }
        });
        t.setDaemon(true);
        t.start();
        return q;
    }

    static String expect(LinkedBlockingQueue<String> q, String prefix, String what) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_S);
        for (;;) {
            String l = q.poll(Math.max(1, end - System.nanoTime()), TimeUnit.NANOSECONDS);
            if (l == null) fail("timed out waiting for " + what);
            System.out.println("  " + what + ": " + l);
            if (l.startsWith(prefix)) return l;
        }
    }

    static void fail(String why) throws Failure {
        throw new Failure(why);
    }
}
