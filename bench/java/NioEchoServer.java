import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.Iterator;

/**
 * The plain Java NIO echo server, the yardstick for the iocpnet Java binding's
 * EchoServer: one thread, one Selector, non-blocking channels, no library.
 * Each connection owns one direct 64 KiB buffer: a read fills it, the same
 * buffer is written back, and while the socket does not take all of it the
 * key waits for OP_WRITE instead of OP_READ (so a peer that does not read
 * stops being read, and bytes stay in order).
 * <pre>python3 bench/run.py --bindings</pre>
 * Options as the C samples: --host, --port (0 = any); --threads and --backend
 * are accepted and ignored. Prints "listening on HOST:PORT"; SIGTERM exits 0.
 */
public final class NioEchoServer {
    public static void main(String[] args) throws IOException {
        String host = "127.0.0.1";
        int port = 9034;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--host" -> host = args[i + 1];
                case "--port" -> port = Integer.parseInt(args[i + 1]);
                case "--threads", "--backend" -> { }
                default -> {
                    System.err.println("usage: NioEchoServer [--host H] [--port P]");
                    System.exit(2);
                }
            }
        }
        Selector selector = Selector.open();
        ServerSocketChannel server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress(host, port), 4096); // 1,000 clients connect at once
        server.configureBlocking(false);
        server.register(selector, SelectionKey.OP_ACCEPT);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> Runtime.getRuntime().halt(0))); // SIGTERM: exit 0
        System.out.println("listening on " + host + ":" + ((InetSocketAddress) server.getLocalAddress()).getPort());
        System.out.flush();
        for (;;) {
            selector.select();
            Iterator<SelectionKey> it = selector.selectedKeys().iterator();
            while (it.hasNext()) {
                SelectionKey key = it.next();
                it.remove();
                try {
                    if (key.isAcceptable()) accept(server, selector);
                    else if (key.isReadable()) read(key);
                    else if (key.isWritable()) write(key);
                } catch (IOException e) { // reset by the peer: drop the connection
                    key.cancel();
                    key.channel().close();
                }
            }
        }
    }

    private static void accept(ServerSocketChannel server, Selector selector) throws IOException {
        SocketChannel c;
        while ((c = server.accept()) != null) {
            c.configureBlocking(false);
            c.setOption(StandardSocketOptions.TCP_NODELAY, true);
            c.register(selector, SelectionKey.OP_READ, ByteBuffer.allocateDirect(64 << 10));
        }
    }

    private static void read(SelectionKey key) throws IOException {
        SocketChannel c = (SocketChannel) key.channel();
        ByteBuffer buf = (ByteBuffer) key.attachment();
        int n = c.read(buf);
        if (n < 0) {
            key.cancel();
            c.close();
            return;
        }
        buf.flip();
        c.write(buf);
        if (buf.hasRemaining()) key.interestOps(SelectionKey.OP_WRITE); // the rest first, then read again
        else buf.clear();
    }

    private static void write(SelectionKey key) throws IOException {
        ByteBuffer buf = (ByteBuffer) key.attachment();
        ((SocketChannel) key.channel()).write(buf);
        if (!buf.hasRemaining()) {
            buf.clear();
            key.interestOps(SelectionKey.OP_READ);
        }
    }
}
