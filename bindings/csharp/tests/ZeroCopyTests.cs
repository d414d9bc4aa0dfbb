using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace IocpNet.Tests;

// Port.SendOwned: pinned memory handed to the engine without a copy and
// released (unpinned, callback) exactly once when the engine lets go of it.
public class ZeroCopyTests
{
    private const int Big = 32 << 20; // far more than loopback's socket buffers hold

    /// <summary>An engine client connected to a plain socket that reads only when told to.</summary>
    private sealed class Setup : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        public readonly Recorder Client = new();
        public readonly Port Port;
        public readonly ConnectionId Conn;
        public readonly Socket Peer;

        public Setup(long maxQueue)
        {
            _listener.ReceiveBufferSize = 16 * 1024;
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(1);
            Port = new Port(Client, new PortOptions { MaxSendQueueBytes = maxQueue });
            Conn = Net.ConnectOk(Port, Client, ((IPEndPoint)_listener.LocalEndPoint!).Port);
            Peer = _listener.Accept();
        }

        public byte[] ReadExactly(int n)
        {
            var got = new byte[n];
            Peer.ReceiveTimeout = 60_000;
            for (int at = 0; at < n;)
                at += Peer.Receive(got, at, n - at, SocketFlags.None);
            return got;
        }

        public void Dispose()
        {
            Port.Dispose();
            Peer.Dispose();
            _listener.Dispose();
        }
    }

    [Fact]
    public void Released_exactly_once_only_after_the_engine_has_sent_every_byte()
    {
        using var s = new Setup(64 << 20);
        byte[] data = Net.Pattern(Big + 100, 5);
        ReadOnlyMemory<byte> slice = data.AsMemory(100); // a slice: the pin and the release see the same view
        int released = 0;
        ReadOnlyMemory<byte> seen = default;
        s.Port.SendOwned(s.Conn, slice, m => { seen = m; Interlocked.Increment(ref released); });

        // The peer reads nothing: the engine still needs the bytes, so nothing is released.
        Thread.Sleep(300);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.Equal(0, Volatile.Read(ref released));
        Assert.InRange(s.Port.GetQueuedBytes(s.Conn), 1, Big);

        byte[] got = s.ReadExactly(Big);
        Assert.True(slice.Span.SequenceEqual(got), "the bytes on the wire differ from the owned buffer");
        Net.Eventually(() => Volatile.Read(ref released) == 1, "the release");
        Thread.Sleep(200);
        Assert.Equal(1, Volatile.Read(ref released));
        Assert.True(MemoryMarshal.TryGetArray(seen, out ArraySegment<byte> seg));
        Assert.Same(data, seg.Array);
        Assert.Equal(100, seg.Offset);
        Assert.Equal(0, s.Port.GetQueuedBytes(s.Conn));
    }

    [Fact]
    public void Queued_owned_sends_are_released_exactly_once_when_the_connection_is_aborted_or_the_port_disposed()
    {
        var s = new Setup(64 << 20);
        int first = 0, second = 0, third = 0;
        s.Port.SendOwned(s.Conn, new byte[Big], _ => Interlocked.Increment(ref first));
        s.Port.SendOwned(s.Conn, new byte[1 << 20], _ => Interlocked.Increment(ref second));
        Thread.Sleep(200);
        Assert.Equal(0, Volatile.Read(ref first) + Volatile.Read(ref second));
        s.Port.Close(s.Conn, CloseMode.Abort);
        s.Client.WaitUntil(r => r.Closed.ContainsKey(s.Conn.Value), "OnClose");
        Net.Eventually(() => Volatile.Read(ref first) == 1 && Volatile.Read(ref second) == 1, "both releases after the abort");

        // A second connection, its owned send still queued when the port is disposed.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        ConnectionId c2 = Net.ConnectOk(s.Port, s.Client, ((IPEndPoint)listener.LocalEndPoint!).Port);
        using Socket peer2 = listener.Accept();
        s.Port.SendOwned(c2, new byte[Big], _ => Interlocked.Increment(ref third));
        Thread.Sleep(200);
        Assert.Equal(0, Volatile.Read(ref third));
        s.Dispose();
        Assert.Equal(1, Volatile.Read(ref third)); // released before Dispose returned
        Thread.Sleep(200);
        Assert.Equal(1, Volatile.Read(ref first));
        Assert.Equal(1, Volatile.Read(ref second));
        Assert.Equal(1, Volatile.Read(ref third));
    }

    [Fact]
    public void A_refused_owned_send_is_never_released_and_the_caller_keeps_the_buffer()
    {
        using var s = new Setup(256 * 1024);
        var releasedChunks = new List<int>();
        int accepted = 0;
        byte[] chunk = new byte[64 * 1024];
        // The peer does not read: the queue fills and TrySendOwned says false.
        while (true)
        {
            int n = accepted;
            if (!s.Port.TrySendOwned(s.Conn, chunk, _ => { lock (releasedChunks) releasedChunks.Add(n); }))
                break;
            accepted++;
            Assert.True(accepted < 10_000, "the queue never filled");
        }
        int refused = accepted; // the index the refused call would have had
        int wrong = 0;
        Assert.Equal(ErrorCode.Limit, Assert.Throws<IocpNetException>(() => s.Port.SendOwned(s.Conn, new byte[1 << 20], _ => Interlocked.Increment(ref wrong))).Code);

        s.Port.Close(s.Conn, CloseMode.Abort);
        Net.Eventually(() => { lock (releasedChunks) return releasedChunks.Count == accepted; }, "every accepted chunk released");
        Thread.Sleep(200);
        lock (releasedChunks)
        {
            Assert.Equal(Enumerable.Range(0, accepted), releasedChunks.Order());
            Assert.DoesNotContain(refused, releasedChunks);
        }
        Assert.Equal(0, Volatile.Read(ref wrong));
    }

    [Fact]
    public void Owned_send_after_ShutdownWrite_fails_with_WriteShutdown_and_is_not_released()
    {
        var server = new Recorder();
        var client = new Recorder();
        using var sp = new Port(server);
        using var cp = new Port(client);
        ConnectionId c = Net.ConnectOk(cp, client, sp.Listen(Net.Loopback, 0, new ConnectionOptions { HalfOpen = true }).Port);
        int released = 0;
        cp.SendOwned(c, "last words"u8.ToArray(), _ => Interlocked.Increment(ref released));
        cp.ShutdownWrite(c);
        var ex = Assert.Throws<IocpNetException>(() => cp.SendOwned(c, new byte[10], _ => Interlocked.Increment(ref released)));
        Assert.Equal(ErrorCode.WriteShutdown, ex.Code);
        server.WaitUntil(r => r.Accepted.Count == 1 && r.PeerShutdowns(new ConnectionId(r.Accepted.Single())) == 1, "the FIN after the owned bytes");
        Assert.Equal("last words"u8.ToArray(), server.Read(r => r.BytesArray(new ConnectionId(r.Accepted.Single()))));
        Net.Eventually(() => Volatile.Read(ref released) == 1, "the release of the sent buffer");
        Thread.Sleep(100);
        Assert.Equal(1, Volatile.Read(ref released));
    }
}
