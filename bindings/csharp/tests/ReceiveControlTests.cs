using System.Net;
using System.Net.Sockets;
using System.Text;

namespace IocpNet.Tests;

// PauseReceive/ResumeReceive, GetQueuedBytes, ShutdownWrite with HalfOpen, and
// vectored sends, each against real loopback sockets.
public class ReceiveControlTests
{
    // The peer's stream: byte p of it, whatever the sizes of the writes were.
    private static byte At(long p) => (byte)(p * 7 + (p >> 10));

    private static void Fill(byte[] buf, long from)
    {
        for (int i = 0; i < buf.Length; i++)
            buf[i] = At(from + i);
    }

    [Fact]
    public void Pause_stops_OnData_and_fills_the_peers_buffers_then_resume_delivers_every_byte_in_order()
    {
        var server = new Recorder();
        server.OnAcceptHook = (p, c) => p.PauseReceive(c); // paused before any byte is read
        using var sp = new Port(server);
        int tcpPort = sp.Listen(Net.Loopback, 0).Port;

        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        peer.Connect(IPAddress.Loopback, tcpPort);
        server.WaitUntil(r => r.Accepted.Count == 1, "accept");
        var s = new ConnectionId(server.Read(r => r.Accepted.Single()));

        // The peer writes without blocking until its kernel says no: the paused side's
        // window and the peer's send buffer are full, nothing is buffered by the engine.
        const long Limit = 256 << 20;
        const int Chunk = 64 * 1024;
        var chunk = new byte[Chunk];
        long sent = 0;
        peer.Blocking = false;
        bool blocked = false;
        while (sent < Limit && !blocked)
        {
            Fill(chunk, sent);
            try
            {
                sent += peer.Send(chunk, 0, Chunk, SocketFlags.None);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
                blocked = true;
            }
        }
        Assert.True(blocked, $"the peer sent {sent} bytes without ever being held back");
        Thread.Sleep(300);
        Assert.Equal(0, server.Read(r => r.TotalBytes));
        // At most what a read already under way at the pause took in (one buffer): the rest stays in the kernel.
        long readEarly = sp.Stats.BytesReceived;
        Assert.InRange(readEarly, 0, 1 << 20);
        Assert.True(readEarly < sent, $"the engine read {readEarly} of {sent} bytes while paused");

        // Resume: everything sent so far arrives, then the rest of a stream sent in blocking mode.
        sp.ResumeReceive(s);
        sp.ResumeReceive(s); // idempotent
        long total = sent + (4 << 20);
        peer.Blocking = true;
        var writer = Task.Run(() =>
        {
            var part = new byte[Chunk];
            for (long at = sent; at < total;)
            {
                Fill(part, at);
                at += peer.Send(part, 0, (int)Math.Min(Chunk, total - at), SocketFlags.None);
            }
        });
        server.WaitUntil(r => r.TotalBytes >= sent, "the held bytes after resume", 120);

        // Paused again from this thread: after a moment nothing more arrives.
        sp.PauseReceive(s);
        Thread.Sleep(100); // an OnData already under way when Pause returned may still finish
        long atPause = server.Read(r => r.TotalBytes);
        Thread.Sleep(300);
        Assert.Equal(atPause, server.Read(r => r.TotalBytes));
        sp.ResumeReceive(s);

        Assert.True(writer.Wait(TimeSpan.FromSeconds(120)), "the peer's blocking writes");
        server.WaitUntil(r => r.TotalBytes >= total, "every byte", 120);
        byte[] got = server.Read(r => r.BytesArray(s));
        Assert.Equal(total, got.LongLength);
        for (long p = 0; p < total; p++)
            if (got[p] != At(p))
                Assert.Fail($"byte {p} differs: {got[p]} instead of {At(p)}");
        Assert.Equal(ErrorCode.NotFound, Assert.Throws<IocpNetException>(() => sp.PauseReceive(new ConnectionId(999_999))).Code);
    }

    [Fact]
    public void Queued_bytes_grow_while_the_peer_does_not_read_and_fall_to_zero_once_it_does()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.ReceiveBufferSize = 16 * 1024;
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Recorder();
        const long MaxQueue = 1 << 20;
        using var cp = new Port(client, new PortOptions { MaxSendQueueBytes = MaxQueue });
        ConnectionId c = Net.ConnectOk(cp, client, ((IPEndPoint)listener.LocalEndPoint!).Port);
        using Socket peer = listener.Accept();
        Assert.Equal(0, cp.GetQueuedBytes(c));

        byte[] chunk = Net.Pattern(16 * 1024, 3);
        long sent = 0;
        while (cp.TrySend(c, chunk))
            sent += chunk.Length;
        long queued = cp.GetQueuedBytes(c);
        Assert.InRange(queued, 1, MaxQueue);
        Assert.True(queued <= sent);

        var buf = new byte[64 * 1024];
        long read = 0;
        while (read < sent)
            read += peer.Receive(buf);
        Assert.Equal(sent, read);
        Net.Eventually(() => cp.GetQueuedBytes(c) == 0, "an empty queue");
        Assert.Equal(ErrorCode.NotFound, Assert.Throws<IocpNetException>(() => cp.GetQueuedBytes(new ConnectionId(999_999))).Code);
    }

    [Fact]
    public void Half_close_round_trip_between_two_half_open_ports()
    {
        var halfOpen = new ConnectionOptions { HalfOpen = true };
        var server = new Recorder();
        var client = new Recorder();
        using var sp = new Port(server);
        using var cp = new Port(client);
        int tcpPort = sp.Listen(Net.Loopback, 0, halfOpen).Port;
        ConnectionId c = Net.ConnectOk(cp, client, tcpPort, halfOpen);

        cp.Send(c, "GET /"u8);
        cp.ShutdownWrite(c);
        cp.ShutdownWrite(c); // idempotent
        var ex = Assert.Throws<IocpNetException>(() => cp.Send(c, "late"u8));
        Assert.Equal(ErrorCode.WriteShutdown, ex.Code);
        Assert.Equal("IOCPNET_E_WRITE_SHUTDOWN", ex.CodeName);

        // The server replies once the request is complete (the client's FIN), then shuts down its side.
        server.WaitUntil(r => r.Accepted.Count == 1 && r.PeerShutdowns(new ConnectionId(r.Accepted.Single())) == 1, "the request's FIN");
        var s0 = new ConnectionId(server.Read(r => r.Accepted.Single()));
        Assert.False(server.Read(r => r.Closed.ContainsKey(s0.Value)), "a half-open connection stays open after the peer's FIN");
        sp.Send(s0, "reply to "u8);
        sp.Send(s0, server.Read(r => r.BytesArray(s0)));
        sp.ShutdownWrite(s0);

        client.WaitUntil(r => r.Closed.ContainsKey(c.Value), "the client side closes after both directions are done");
        Assert.Equal("reply to GET /", Encoding.ASCII.GetString(client.Read(r => r.BytesArray(c))));
        Assert.Equal(1, client.Read(r => r.PeerShutdowns(c)));
        Assert.Equal(ErrorCode.PeerClosed, client.Read(r => r.Closed[c.Value]));
        server.WaitUntil(r => r.Closed.Count == 1, "the server side closes");
        var s = new ConnectionId(server.Read(r => r.Accepted.Single()));
        Assert.Equal(1, server.Read(r => r.PeerShutdowns(s)));
        Assert.Equal(ErrorCode.PeerClosed, server.Read(r => r.Closed[s.Value]));
    }

    [Fact]
    public void Half_open_server_answers_a_socket_that_sent_its_request_and_FIN()
    {
        var server = new Recorder();
        server.OnPeerShutdownHook = (p, c) =>
        {
            int n = server.Read(r => r.BytesArray(c)).Length;
            p.Send(c, Encoding.ASCII.GetBytes($"HTTP/1.0 200 OK\r\n\r\n{n} bytes"));
            p.ShutdownWrite(c);
        };
        using var sp = new Port(server);
        int tcpPort = sp.Listen(Net.Loopback, 0, new ConnectionOptions { HalfOpen = true }).Port;

        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        peer.Connect(IPAddress.Loopback, tcpPort);
        peer.Send("GET / HTTP/1.0\r\n\r\n"u8);
        peer.Shutdown(SocketShutdown.Send);
        peer.ReceiveTimeout = 60_000;
        var reply = new MemoryStream();
        var buf = new byte[4096];
        for (int n; (n = peer.Receive(buf)) > 0;)
            reply.Write(buf, 0, n);
        Assert.Equal("HTTP/1.0 200 OK\r\n\r\n18 bytes", Encoding.ASCII.GetString(reply.ToArray()));
        server.WaitUntil(r => r.Closed.Count == 1, "the server side closes");
        Assert.Equal(ErrorCode.PeerClosed, server.Read(r => r.Closed.Values.Single()));
    }

    [Fact]
    public void Without_HalfOpen_the_peers_FIN_closes_and_OnPeerShutdown_never_comes()
    {
        var server = new Recorder();
        using var sp = new Port(server);
        int tcpPort = sp.Listen(Net.Loopback, 0).Port;
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        peer.Connect(IPAddress.Loopback, tcpPort);
        peer.Shutdown(SocketShutdown.Send);
        server.WaitUntil(r => r.Closed.Count == 1, "close on the peer's FIN");
        Assert.Equal(ErrorCode.PeerClosed, server.Read(r => r.Closed.Values.Single()));
        Assert.Equal(0, server.Read(r => r.PeerShutdowns(new ConnectionId(r.Accepted.Single()))));
    }

    [Fact]
    public void Vectored_sends_are_one_message_each_and_queue_all_or_nothing()
    {
        var lp = new ConnectionOptions { Framing = Framing.LengthPrefix };
        var server = new Recorder();
        var client = new Recorder();
        using var sp = new Port(server);
        using var cp = new Port(client, new PortOptions { MaxSendQueueBytes = 64 * 1024 });
        int tcpPort = sp.Listen(Net.Loopback, 0, lp).Port;
        ConnectionId c = Net.ConnectOk(cp, client, tcpPort, lp);

        byte[] whole = Encoding.ASCII.GetBytes("header|body of the message|trailer");
        cp.Send(c, new List<ArraySegment<byte>> { new(whole, 0, 7), new(whole, 7, 20), new(whole, 27, whole.Length - 27) });
        cp.Send(c, new ReadOnlyMemory<byte>[] { "abc"u8.ToArray(), ReadOnlyMemory<byte>.Empty, "def"u8.ToArray() });
        Assert.True(cp.TrySend(c, Array.Empty<ArraySegment<byte>>())); // no parts: one empty message
        server.WaitUntil(r => r.Accepted.Count == 1 && r.MessagesFrom(new ConnectionId(r.Accepted.Single())).Count == 3, "three messages");
        string[] got = server.Read(r => r.MessagesFrom(new ConnectionId(r.Accepted.Single())).Select(m => Encoding.ASCII.GetString(m)).ToArray());
        Assert.Equal(new[] { "header|body of the message|trailer", "abcdef", "" }, got);

        // Larger than the whole queue: LIMIT, and nothing of it was queued.
        var big = new ArraySegment<byte>(new byte[48 * 1024]);
        var ex = Assert.Throws<IocpNetException>(() => cp.Send(c, new[] { big, big }));
        Assert.Equal(ErrorCode.Limit, ex.Code);
        Assert.Equal(0, cp.GetQueuedBytes(c));
    }
}
