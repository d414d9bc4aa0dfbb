using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using static IocpNet.Tests.WebSocketTests;

namespace IocpNet.Tests;

/// <summary>Issue 12's "works with ...": the iocpnet WebSocket client (ws and wss), idle timeout, pause/resume
/// and backpressure on WebSocket and TLS connections, through the binding.</summary>
public class WebSocketFlowTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public void Iocpnet_wss_client_with_host_path_and_server_name_against_an_iocpnet_wss_server()
    {
        var echo = new WsEcho();
        using var sp = new Port(echo);
        using var serverTls = new TlsConfig(TestCerts.Server());
        Listener l = sp.Listen(Net.Loopback, 0, new ConnectionOptions { Framing = Framing.WebSocket, Tls = serverTls });

        var client = new Recorder();
        var types = new List<WsMessageType>();
        client.OnDataHook = (p, c, _) => { lock (types) types.Add(p.GetWebSocketMessageType(c)); };
        using var cp = new Port(client);
        using var clientTls = new TlsConfig(new TlsOptions { Role = TlsRole.Client, CaFile = TestCerts.Path("ca.pem") });
        ConnectionId c = Net.ConnectOk(cp, client, l.Port, new ConnectionOptions
        {
            Framing = Framing.WebSocket,
            Tls = clientTls,
            ServerName = "localhost",
            WsHost = "chat.example:443",
            WsPath = "/feed?x=1",
        });
        Net.Eventually(() => echo.Accepted.Count == 1, "server OnAccept");
        Assert.Equal("/feed?x=1", echo.Path);
        Assert.Equal("chat.example:443", echo.Host);
        Assert.Contains("CN=localhost", cp.GetTlsInfo(c).PeerSubject);

        cp.SetWebSocketSendType(c, WsMessageType.Text);
        cp.Send(c, "first"u8);
        cp.SetWebSocketSendType(c, WsMessageType.Binary);
        cp.Send(c, new byte[] { 0, 255, 1 });
        client.WaitUntil(r => r.MessagesFrom(c).Count == 2, "2 echoed messages");
        Assert.Equal("first", Encoding.UTF8.GetString(client.Read(r => r.MessagesFrom(c)[0])));
        Assert.Equal(new byte[] { 0, 255, 1 }, client.Read(r => r.MessagesFrom(c)[1]));
        lock (types)
            Assert.Equal(new[] { WsMessageType.Text, WsMessageType.Binary }, types);

        cp.Close(c); // a close frame, then close_notify
        Net.Eventually(() => echo.Closed.Count == 1, "server OnClose");
        Assert.Equal(ErrorCode.PeerClosed, echo.Closed.Values.Single());
    }

    [Fact]
    public void Iocpnet_ws_client_against_dotnet_HttpListener_websocket_server()
    {
        int port = FreePort();
        using var hl = new HttpListener();
        hl.Prefixes.Add($"http://127.0.0.1:{port}/");
        hl.Start();
        Task<(string Path, string Text)> server = Task.Run(async () =>
        {
            HttpListenerContext ctx = await hl.GetContextAsync();
            string path = ctx.Request.Url!.PathAndQuery;
            HttpListenerWebSocketContext wsc = await ctx.AcceptWebSocketAsync(null);
            WebSocket ws = wsc.WebSocket;
            var buf = new byte[1024];
            WebSocketReceiveResult r = await ws.ReceiveAsync(new ArraySegment<byte>(buf), CancellationToken.None);
            string text = Encoding.UTF8.GetString(buf, 0, r.Count);
            await ws.SendAsync(new ArraySegment<byte>(buf, 0, r.Count), r.MessageType, true, CancellationToken.None);
            r = await ws.ReceiveAsync(new ArraySegment<byte>(buf), CancellationToken.None); // the client's close
            if (r.MessageType == WebSocketMessageType.Close)
                await ws.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None);
            return (path, text);
        });

        var client = new Recorder();
        using var cp = new Port(client);
        ConnectionId c = Net.ConnectOk(cp, client, port, new ConnectionOptions { Framing = Framing.WebSocket, WsPath = "/live?id=3" });
        cp.SetWebSocketSendType(c, WsMessageType.Text);
        cp.Send(c, "hello HttpListener"u8);
        client.WaitUntil(r => r.MessagesFrom(c).Count == 1, "the echo");
        Assert.Equal("hello HttpListener", Encoding.UTF8.GetString(client.Read(r => r.MessagesFrom(c)[0])));
        cp.Close(c);
        var result = server.WaitAsync(Deadline).GetAwaiter().GetResult();
        Assert.Equal("/live?id=3", result.Path);
        Assert.Equal("hello HttpListener", result.Text);
        client.WaitUntil(r => r.Closed.ContainsKey(c.Value), "client OnClose");
    }

    [Fact]
    public void Refused_upgrade_gives_OnConnect_Protocol()
    {
        int port = FreePort();
        using var hl = new HttpListener();
        hl.Prefixes.Add($"http://127.0.0.1:{port}/");
        hl.Start();
        Task server = Task.Run(async () =>
        {
            HttpListenerContext ctx = await hl.GetContextAsync();
            ctx.Response.StatusCode = 403; // not 101: the upgrade is refused
            ctx.Response.Close();
        });
        var client = new Recorder();
        using var cp = new Port(client);
        ConnectionId c = cp.Connect(Net.Loopback, port, new ConnectionOptions { Framing = Framing.WebSocket, WsPath = "/private" });
        client.WaitUntil(r => r.Connected.ContainsKey(c.Value), "OnConnect");
        Assert.Equal(ErrorCode.Protocol, client.Read(r => r.Connected[c.Value]));
        server.WaitAsync(Deadline).GetAwaiter().GetResult();
    }

    [Fact]
    public void Idle_timeout_closes_a_websocket_with_1001()
    {
        var echo = new WsEcho();
        using var sp = new Port(echo);
        Listener l = sp.Listen(Net.Loopback, 0, new ConnectionOptions
        {
            Framing = Framing.WebSocket,
            IdleTimeout = TimeSpan.FromMilliseconds(300),
        });
        using var ws = new ClientWebSocket();
        Wait(ws.ConnectAsync(new Uri($"ws://127.0.0.1:{l.Port}/"), CancellationToken.None));
        WebSocketReceiveResult r = Wait(ws.ReceiveAsync(new ArraySegment<byte>(new byte[16]), CancellationToken.None));
        Assert.Equal(WebSocketMessageType.Close, r.MessageType);
        Assert.Equal(WebSocketCloseStatus.EndpointUnavailable, r.CloseStatus); // 1001 "going away"
        Net.Eventually(() => echo.Closed.Count == 1, "server OnClose");
        Assert.Equal(ErrorCode.Timeout, echo.Closed.Values.Single());
    }

    [Fact]
    public void Paused_websocket_holds_messages_until_resumed_in_order()
    {
        var echo = new WsEcho();
        ConnectionId? accepted = null;
        echo.OnAcceptHook = (p, c) => { p.PauseReceive(c); accepted = c; };
        using var sp = new Port(echo);
        Listener l = sp.Listen(Net.Loopback, 0, new ConnectionOptions { Framing = Framing.WebSocket });
        using var ws = new ClientWebSocket();
        Wait(ws.ConnectAsync(new Uri($"ws://127.0.0.1:{l.Port}/"), CancellationToken.None));
        Net.Eventually(() => echo.Accepted.Count == 1, "OnAccept");
        for (int i = 1; i <= 3; i++)
            Wait(ws.SendAsync(new ArraySegment<byte>(new byte[i * 10]), WebSocketMessageType.Text, true, CancellationToken.None));
        Thread.Sleep(300);
        Assert.Empty(echo.Messages); // paused: nothing delivered

        sp.ResumeReceive(accepted!.Value);
        Net.Eventually(() => echo.Messages.Count == 3, "3 messages after resume");
        Assert.Equal(new[] { (WsMessageType.Text, 10), (WsMessageType.Text, 20), (WsMessageType.Text, 30) }, echo.Messages.ToArray());
    }

    [Fact]
    public void Tls_backpressure_TrySend_refuses_then_OnDrain_after_the_reader_catches_up()
    {
        var server = new Recorder();
        using var sp = new Port(server, new PortOptions { MaxSendQueueBytes = 256 * 1024 });
        using var tls = new TlsConfig(TestCerts.Server());
        Listener l = sp.Listen(Net.Loopback, 0, new ConnectionOptions { Tls = tls });
        using var tcp = new TcpClient();
        tcp.ReceiveBufferSize = 64 * 1024;
        tcp.Connect(IPAddress.Loopback, l.Port);
        using var ssl = new SslStream(tcp.GetStream());
        ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = TestCerts.TrustTestCa,
        }).WaitAsync(Deadline).GetAwaiter().GetResult();
        server.WaitUntil(r => r.Accepted.Count == 1, "OnAccept");
        var c = new ConnectionId(server.Read(r => r.Accepted.First()));

        // The client reads nothing yet: the queue (plaintext bytes) fills up and TrySend says no.
        byte[] chunk = Net.Pattern(64 * 1024, 2);
        int accepted = 0;
        while (accepted < 1000 && sp.TrySend(c, chunk))
            accepted++;
        Assert.InRange(accepted, 1, 999);
        // The bound counts plaintext (the queue may already be draining into the kernel, so no lower bound).
        long queued = sp.GetQueuedBytes(c);
        Assert.True(queued <= 256 * 1024 + chunk.Length, $"queued {queued} bytes");

        byte[] got = TlsTests.ReadExactly(ssl, accepted * chunk.Length);
        for (int i = 0; i < accepted; i++)
            Assert.True(chunk.AsSpan().SequenceEqual(got.AsSpan(i * chunk.Length, chunk.Length)), $"chunk {i} differs");
        server.WaitUntil(r => r.Drains(c) >= 1, "OnDrain");
    }

    private static int FreePort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }
}
