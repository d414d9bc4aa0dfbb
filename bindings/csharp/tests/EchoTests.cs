using System.Buffers.Binary;

namespace IocpNet.Tests;

public class EchoTests
{
    [Fact]
    public void Echo_of_one_MiB_is_byte_exact()
    {
        var server = new Recorder { EchoAccepted = true };
        var client = new Recorder();
        using var sp = new Port(server);
        using var cp = new Port(client);
        Listener l = sp.Listen(Net.Loopback, 0);
        Assert.InRange(l.Port, 1, 65535);
        ConnectionId c = Net.ConnectOk(cp, client, l.Port);

        byte[] payload = Net.Pattern(1 << 20);
        for (int off = 0; off < payload.Length; off += 64 * 1024)
            cp.Send(c, payload.AsSpan(off, 64 * 1024));

        client.WaitUntil(r => r.BytesFrom(c) >= payload.Length, "1 MiB echoed");
        byte[] got = client.Read(r => r.BytesArray(c));
        Assert.Equal(payload.Length, got.Length);
        Assert.True(payload.AsSpan().SequenceEqual(got), "echoed bytes differ");
        PortStats stats = cp.Stats;
        Assert.Equal(payload.Length, stats.BytesSent);
        Assert.Equal(payload.Length, stats.BytesReceived);
        Assert.NotEqual(Backend.Auto, stats.Backend);
    }

    [Fact]
    public void Hundred_connections_times_thousand_messages_arrive_in_order()
    {
        const int Conns = 100, Msgs = 1000;
        var framing = new ConnectionOptions { Framing = Framing.LengthPrefix };
        var server = new Recorder { EchoAccepted = true };
        var client = new Recorder();
        using var sp = new Port(server);
        using var cp = new Port(client);
        Listener l = sp.Listen(Net.Loopback, 0, framing);
        var ids = new ConnectionId[Conns];
        for (int i = 0; i < Conns; i++)
            ids[i] = cp.Connect(Net.Loopback, l.Port, framing);

        // Sent before OnConnect: the engine queues them, still in order.
        Span<byte> msg = stackalloc byte[12];
        for (int m = 0; m < Msgs; m++)
            for (int i = 0; i < Conns; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(msg, i);
                BinaryPrimitives.WriteInt32LittleEndian(msg[4..], m);
                BinaryPrimitives.WriteInt32LittleEndian(msg[8..], i ^ m);
                cp.Send(ids[i], msg);
            }

        client.WaitUntil(r => ids.All(id => r.MessagesFrom(id).Count >= Msgs), "100 x 1000 echoed messages", 180);
        client.Read(r =>
        {
            for (int i = 0; i < Conns; i++)
            {
                IReadOnlyList<byte[]> got = r.MessagesFrom(ids[i]);
                Assert.Equal(Msgs, got.Count);
                for (int m = 0; m < Msgs; m++)
                {
                    Assert.Equal(12, got[m].Length);
                    Assert.Equal(i, BinaryPrimitives.ReadInt32LittleEndian(got[m]));
                    Assert.Equal(m, BinaryPrimitives.ReadInt32LittleEndian(got[m].AsSpan(4)));
                    Assert.Equal(i ^ m, BinaryPrimitives.ReadInt32LittleEndian(got[m].AsSpan(8)));
                }
            }
            return 0;
        });
        Assert.All(ids, id => Assert.Equal(ErrorCode.Ok, client.Read(r => r.Connected[id.Value])));
    }

    [Fact]
    public void Callbacks_on_native_threads_survive_forced_collections()
    {
        // The handler objects are reachable only through the ports' GCHandles.
        var client = new Recorder();
        using var sp = MakeEchoServer(out int tcpPort, out WeakReference serverHandler);
        using var cp = new Port(client);
        ConnectionId c = Net.ConnectOk(cp, client, tcpPort);
        int collectionsInHandler = 0;
        client.OnDataHook = (_, _, _) =>
        {
            // A collection on the engine's own thread, in the middle of a callback.
            GC.Collect();
            Interlocked.Increment(ref collectionsInHandler);
        };

        long expected = 0;
        for (int round = 0; round < 50; round++)
        {
            byte[] chunk = Net.Pattern(1000 + round, round);
            cp.Send(c, chunk);
            expected += chunk.Length;
            client.WaitUntil(r => r.BytesFrom(c) >= expected, $"round {round}");
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }
        Assert.True(serverHandler.IsAlive, "the port must keep its handler alive");
        Assert.True(collectionsInHandler > 0);
        Assert.DoesNotContain(Environment.CurrentManagedThreadId, client.CallbackThreads.Keys);
        Assert.Equal(expected, client.Read(r => r.BytesFrom(c)));
    }

    private static Port MakeEchoServer(out int tcpPort, out WeakReference handler)
    {
        var rec = new Recorder { EchoAccepted = true };
        handler = new WeakReference(rec);
        var port = new Port(rec);
        tcpPort = port.Listen(Net.Loopback, 0).Port;
        return port;
    }
}
