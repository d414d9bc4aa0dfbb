using System.Text;

namespace IocpNet.Tests;

public class FlowTests
{
    [Fact]
    public void Backpressure_TrySend_false_then_Drain_then_every_accepted_byte_arrives()
    {
        // A slow receiver: its only worker sleeps in OnData, so the sender's queue fills.
        var server = new Recorder();
        server.OnDataHook = (_, _, _) => Thread.Sleep(2);
        var client = new Recorder();
        using var sp = new Port(server, new PortOptions { WorkerThreads = 1 });
        using var cp = new Port(client, new PortOptions { MaxSendQueueBytes = 64 * 1024 });
        ConnectionId c = Net.ConnectOk(cp, client, sp.Listen(Net.Loopback, 0).Port);

        byte[] stream = Net.Pattern(64 * 1024 * 1024);
        const int Chunk = 16 * 1024;
        int sent = 0;
        bool refused = false;
        while (sent + Chunk <= stream.Length)
        {
            if (!cp.TrySend(c, stream.AsSpan(sent, Chunk)))
            {
                refused = true;
                break;
            }
            sent += Chunk;
        }
        Assert.True(refused, "TrySend never returned false");

        client.WaitUntil(r => r.Drains(c) >= 1, "OnDrain", 120);
        Assert.True(cp.TrySend(c, stream.AsSpan(sent, Chunk)), "TrySend after OnDrain");
        sent += Chunk;

        server.WaitUntil(r => r.TotalBytes >= sent, "every accepted byte", 180);
        byte[] got = server.Read(r => r.BytesArray(r.Accepted.Select(id => new ConnectionId(id)).Single()));
        Assert.Equal(sent, got.Length);
        Assert.True(stream.AsSpan(0, sent).SequenceEqual(got), "received bytes differ from the accepted ones");
    }

    [Fact]
    public void Line_framing_delivers_lines_and_adds_newlines()
    {
        var line = new ConnectionOptions { Framing = Framing.Line };
        var server = new Recorder { EchoAccepted = true };
        var client = new Recorder();
        using var sp = new Port(server);
        using var cp = new Port(client);
        int tcpPort = sp.Listen(Net.Loopback, 0, line).Port;

        // A RAW client sees the exact wire bytes: lines split across sends, "\r\n" accepted.
        ConnectionId raw = Net.ConnectOk(cp, client, tcpPort);
        cp.Send(raw, "hel"u8);
        cp.Send(raw, "lo\r\nwor"u8);
        cp.Send(raw, "ld\n\n"u8);
        client.WaitUntil(r => r.BytesFrom(raw) >= "hello\nworld\n\n".Length, "echoed lines");
        Assert.Equal("hello\nworld\n\n", Encoding.ASCII.GetString(client.Read(r => r.BytesArray(raw))));

        // A LINE client sends one message per call and gets one line per OnData.
        ConnectionId framed = Net.ConnectOk(cp, client, tcpPort, line);
        cp.Send(framed, "first"u8);
        cp.Send(framed, "second"u8);
        client.WaitUntil(r => r.MessagesFrom(framed).Count >= 2, "two lines");
        Assert.Equal(new[] { "first", "second" },
            client.Read(r => r.MessagesFrom(framed).Select(m => Encoding.ASCII.GetString(m)).ToArray()));
        Assert.Equal(ErrorCode.InvalidArg, Assert.Throws<IocpNetException>(() => cp.Send(framed, "a\nb"u8)).Code);
    }

    [Fact]
    public void Length_prefix_framing_reassembles_messages_and_reports_oversize()
    {
        var lp = new ConnectionOptions { Framing = Framing.LengthPrefix, MaxMessageSize = 1024 };
        var server = new Recorder { EchoAccepted = true };
        var client = new Recorder();
        using var sp = new Port(server);
        using var cp = new Port(client);
        int tcpPort = sp.Listen(Net.Loopback, 0, lp).Port;

        ConnectionId raw = Net.ConnectOk(cp, client, tcpPort);
        cp.Send(raw, new byte[] { 0, 0, 0, 5, (byte)'a', (byte)'b' });
        cp.Send(raw, new byte[] { (byte)'c', (byte)'d', (byte)'e', 0, 0, 0, 0 });
        client.WaitUntil(r => r.BytesFrom(raw) >= 13, "echoed frames");
        Assert.Equal(new byte[] { 0, 0, 0, 5, 97, 98, 99, 100, 101, 0, 0, 0, 0 }, client.Read(r => r.BytesArray(raw)));
        ConnectionId serverSide = new(server.Read(r => r.Accepted.Single()));
        Assert.Equal(new[] { "abcde", "" },
            server.Read(r => r.MessagesFrom(serverSide).Select(m => Encoding.ASCII.GetString(m)).ToArray()));

        // A header announcing more than MaxMessageSize: OnFramingError, then OnClose with the same reason.
        ConnectionId liar = Net.ConnectOk(cp, client, tcpPort);
        server.WaitUntil(r => r.Accepted.Count == 2, "second accept");
        cp.Send(liar, new byte[] { 0, 1, 0, 0, 1, 2, 3 });
        server.WaitUntil(r => r.FramingErrors.Count == 1 && r.Closed.Count == 1, "framing error and close");
        ulong bad = server.Read(r => r.FramingErrors[0].Conn);
        Assert.Equal(ErrorCode.MessageTooLarge, server.Read(r => r.FramingErrors[0].Error));
        Assert.Equal(ErrorCode.MessageTooLarge, server.Read(r => r.Closed[bad]));
        client.WaitUntil(r => r.Closed.ContainsKey(liar.Value), "the liar is disconnected");
    }

    [Fact]
    public void SendMany_reaches_every_live_receiver_and_skips_the_rest()
    {
        var line = new ConnectionOptions { Framing = Framing.Line };
        var server = new Recorder();
        var client = new Recorder();
        using var sp = new Port(server);
        using var cp = new Port(client);
        int tcpPort = sp.Listen(Net.Loopback, 0, line).Port;
        var clients = Enumerable.Range(0, 5).Select(_ => Net.ConnectOk(cp, client, tcpPort, line)).ToArray();
        server.WaitUntil(r => r.Accepted.Count == 5, "five accepts");
        var receivers = server.Read(r => r.Accepted.Select(id => new ConnectionId(id)).ToList());
        receivers.Add(new ConnectionId(0xDEAD_BEEF_0000)); // unknown: skipped, not an error

        Assert.Equal(5, sp.SendMany(receivers.ToArray(), "to all"u8));
        client.WaitUntil(r => clients.All(c => r.MessagesFrom(c).Count == 1), "the broadcast");
        Assert.All(clients, c => Assert.Equal("to all", Encoding.ASCII.GetString(client.Read(r => r.MessagesFrom(c)[0]))));
        Assert.Equal(0, sp.SendMany(ReadOnlySpan<ConnectionId>.Empty, "nobody"u8));
    }
}
