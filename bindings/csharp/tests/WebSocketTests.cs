using System.Collections.Concurrent;
using System.Net;
using System.Net.WebSockets;
using System.Runtime.CompilerServices;
using System.Text;

namespace IocpNet.Tests;

/// <summary>WebSocket through the binding against .NET's own client (ClientWebSocket, HttpClient).</summary>
public class WebSocketTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    /// <summary>Echoes each message with the type it came with; records what the server saw.</summary>
    internal sealed class WsEcho : IPortHandler
    {
        public readonly ConcurrentQueue<(WsMessageType Type, int Length)> Messages = new();
        public readonly ConcurrentDictionary<ulong, ErrorCode> Closed = new();
        public readonly ConcurrentDictionary<ulong, bool> Accepted = new();
        public volatile string? Path, Header, Missing, Host;
        public Action<Port, ConnectionId>? OnAcceptHook;
        public volatile StrongBox<TlsInfo>? Tls;

        public void OnAccept(Port port, ulong listener, ConnectionId connection)
        {
            Path = port.GetWebSocketRequestPath(connection);
            Header = port.GetWebSocketRequestHeader(connection, "x-iocpnet-test"); // names are case-insensitive
            Missing = port.GetWebSocketRequestHeader(connection, "X-Not-Sent");
            Host = port.GetWebSocketRequestHeader(connection, "Host");
            OnAcceptHook?.Invoke(port, connection);
            try { Tls = new StrongBox<TlsInfo>(port.GetTlsInfo(connection)); } catch (IocpNetException e) when (e.Code == ErrorCode.Unsupported) { }
            Accepted[connection.Value] = true;
        }

        public void OnData(Port port, ConnectionId connection, ReadOnlySpan<byte> data)
        {
            WsMessageType type = port.GetWebSocketMessageType(connection); // the type of this very message
            Messages.Enqueue((type, data.Length));
            port.SetWebSocketSendType(connection, type);
            port.Send(connection, data);
        }

        public void OnClose(Port port, ConnectionId connection, ErrorCode reason) => Closed[connection.Value] = reason;
    }

    [Fact]
    public void ClientWebSocket_text_and_binary_echo_with_types_path_header_and_close()
    {
        var echo = new WsEcho();
        using var sp = new Port(echo);
        Listener l = sp.Listen(Net.Loopback, 0, new ConnectionOptions { Framing = Framing.WebSocket });

        using var ws = new ClientWebSocket();
        ws.Options.SetRequestHeader("X-Iocpnet-Test", "header value");
        Wait(ws.ConnectAsync(new Uri($"ws://127.0.0.1:{l.Port}/chat?room=7"), CancellationToken.None));
        Net.Eventually(() => echo.Accepted.Count == 1, "OnAccept"); // it may run just after the 101 went out
        Assert.Equal("/chat?room=7", echo.Path);
        Assert.Equal("header value", echo.Header);
        Assert.Null(echo.Missing);
        Assert.Null(echo.Tls); // plain ws: no TLS facts

        byte[] text = Encoding.UTF8.GetBytes("héllo, wörld");
        Wait(ws.SendAsync(new ArraySegment<byte>(text), WebSocketMessageType.Text, true, CancellationToken.None));
        (WebSocketMessageType type, byte[] got) = Receive(ws);
        Assert.Equal(WebSocketMessageType.Text, type);
        Assert.Equal(text, got);

        // Binary, larger than 64 KiB (a 64-bit length), sent in three fragments: one message at the server.
        byte[] bin = Net.Pattern(70_000, 3);
        Wait(ws.SendAsync(bin.AsMemory(0, 1000), WebSocketMessageType.Binary, false, CancellationToken.None).AsTask());
        Wait(ws.SendAsync(bin.AsMemory(1000, 40_000), WebSocketMessageType.Binary, false, CancellationToken.None).AsTask());
        Wait(ws.SendAsync(bin.AsMemory(41_000), WebSocketMessageType.Binary, true, CancellationToken.None).AsTask());
        (type, got) = Receive(ws);
        Assert.Equal(WebSocketMessageType.Binary, type);
        Assert.Equal(bin, got);
        Assert.Equal(new[] { (WsMessageType.Text, text.Length), (WsMessageType.Binary, bin.Length) }, echo.Messages.ToArray());

        Wait(ws.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, ws.CloseStatus); // the engine answers with the same code
        Net.Eventually(() => echo.Closed.Count == 1, "server OnClose");
        Assert.Equal(ErrorCode.PeerClosed, echo.Closed.Values.Single());
    }

    [Fact]
    public void SendMany_reaches_every_client_then_a_local_close_sends_1000()
    {
        var echo = new WsEcho();
        using var sp = new Port(echo);
        Listener l = sp.Listen(Net.Loopback, 0, new ConnectionOptions { Framing = Framing.WebSocket });
        var clients = Enumerable.Range(0, 3).Select(_ => new ClientWebSocket()).ToArray();
        try
        {
            foreach (ClientWebSocket c in clients)
                Wait(c.ConnectAsync(new Uri($"ws://127.0.0.1:{l.Port}/room"), CancellationToken.None));
            Net.Eventually(() => echo.Accepted.Count == clients.Length, "3 accepted");
            ConnectionId[] ids = echo.Accepted.Keys.Select(k => new ConnectionId(k)).ToArray();
            foreach (ConnectionId id in ids)
                sp.SetWebSocketSendType(id, WsMessageType.Text);

            byte[] line = Encoding.UTF8.GetBytes("to everybody");
            Assert.Equal(clients.Length, sp.SendMany(ids, line));
            foreach (ConnectionId id in ids)
                sp.Close(id);
            foreach (ClientWebSocket c in clients)
            {
                (WebSocketMessageType type, byte[] got) = Receive(c);
                Assert.Equal(WebSocketMessageType.Text, type);
                Assert.Equal(line, got);
                var buf = new byte[16];
                WebSocketReceiveResult end = Wait(c.ReceiveAsync(new ArraySegment<byte>(buf), CancellationToken.None));
                Assert.Equal(WebSocketMessageType.Close, end.MessageType);
                Assert.Equal(WebSocketCloseStatus.NormalClosure, end.CloseStatus);
            }
        }
        finally
        {
            foreach (ClientWebSocket c in clients)
                c.Dispose();
        }
    }

    [Fact]
    public void AddPage_is_served_to_HttpClient_and_other_paths_get_404()
    {
        using var sp = new Port(new WsEcho());
        Listener l = sp.Listen(Net.Loopback, 0, new ConnectionOptions { Framing = Framing.WebSocket });
        const string Html = "<!doctype html><title>iocpnet</title><p>ünïcode</p>";
        sp.AddPage(l, "/", "text/html; charset=utf-8", Html);
        sp.AddPage(l, "/data.bin", "application/octet-stream", new byte[] { 0, 1, 2, 255 });

        using var http = new HttpClient { Timeout = Deadline };
        using HttpResponseMessage page = http.GetAsync($"http://127.0.0.1:{l.Port}/?x=1").GetAwaiter().GetResult();
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Equal(Html, page.Content.ReadAsStringAsync().GetAwaiter().GetResult());
        byte[] data = http.GetByteArrayAsync($"http://127.0.0.1:{l.Port}/data.bin").GetAwaiter().GetResult();
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, data);
        using HttpResponseMessage missing = http.GetAsync($"http://127.0.0.1:{l.Port}/nothing-here").GetAwaiter().GetResult();
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        // Only a WebSocket listener serves pages; a listener that is gone is NotFound.
        Listener raw = sp.Listen(Net.Loopback, 0);
        Assert.Equal(ErrorCode.InvalidArg, Assert.Throws<IocpNetException>(() => sp.AddPage(raw, "/", "text/plain", "x")).Code);
        Assert.Equal(ErrorCode.InvalidArg, Assert.Throws<IocpNetException>(() => sp.AddPage(l, "no-slash", "text/plain", "x")).Code);
        sp.Unlisten(raw);
        Assert.Equal(ErrorCode.NotFound, Assert.Throws<IocpNetException>(() => sp.AddPage(raw, "/", "text/plain", "x")).Code);
    }

    [Fact]
    public void Wss_ClientWebSocket_over_iocpnet_tls()
    {
        var echo = new WsEcho();
        using var sp = new Port(echo);
        using var tls = new TlsConfig(TestCerts.Server());
        Listener l = sp.Listen(Net.Loopback, 0, new ConnectionOptions { Framing = Framing.WebSocket, Tls = tls });

        using var ws = new ClientWebSocket();
        ws.Options.RemoteCertificateValidationCallback = TestCerts.TrustTestCa; // the SAN has IP 127.0.0.1
        ws.Options.SetRequestHeader("X-Iocpnet-Test", "secure");
        Wait(ws.ConnectAsync(new Uri($"wss://127.0.0.1:{l.Port}/secure"), CancellationToken.None));
        Net.Eventually(() => echo.Accepted.Count == 1, "OnAccept");
        Assert.Equal("/secure", echo.Path);
        Assert.Equal("secure", echo.Header);
        Assert.NotNull(echo.Tls);
        Assert.StartsWith("TLSv1.", echo.Tls.Value.Version);

        byte[] text = Encoding.UTF8.GetBytes("over TLS");
        Wait(ws.SendAsync(new ArraySegment<byte>(text), WebSocketMessageType.Text, true, CancellationToken.None));
        (WebSocketMessageType type, byte[] got) = Receive(ws);
        Assert.Equal(WebSocketMessageType.Text, type);
        Assert.Equal(text, got);
        Wait(ws.CloseAsync(WebSocketCloseStatus.NormalClosure, null, CancellationToken.None));
        Assert.Equal(WebSocketCloseStatus.NormalClosure, ws.CloseStatus);
        Net.Eventually(() => echo.Closed.Count == 1, "server OnClose");
        Assert.Equal(ErrorCode.PeerClosed, echo.Closed.Values.Single());
    }

    [Fact]
    public void WebSocket_calls_on_a_plain_connection_are_InvalidArg()
    {
        var server = new Recorder();
        using var sp = new Port(server);
        Listener l = sp.Listen(Net.Loopback, 0);
        var client = new Recorder();
        using var cp = new Port(client);
        ConnectionId c = Net.ConnectOk(cp, client, l.Port);
        Assert.Equal(ErrorCode.InvalidArg, Assert.Throws<IocpNetException>(() => cp.SetWebSocketSendType(c, WsMessageType.Text)).Code);
        Assert.Equal(ErrorCode.InvalidArg, Assert.Throws<IocpNetException>(() => cp.GetWebSocketMessageType(c)).Code);
        Assert.Equal(ErrorCode.InvalidArg, Assert.Throws<IocpNetException>(() => cp.GetWebSocketRequestPath(c)).Code);
        Assert.Equal(ErrorCode.NotFound, Assert.Throws<IocpNetException>(() => cp.GetWebSocketRequestHeader(new ConnectionId(999_999), "Origin")).Code);
    }

    internal static void Wait(Task t) => t.WaitAsync(Deadline).GetAwaiter().GetResult();

    internal static T Wait<T>(Task<T> t) => t.WaitAsync(Deadline).GetAwaiter().GetResult();

    /// <summary>One whole message (its fragments joined).</summary>
    internal static (WebSocketMessageType, byte[]) Receive(ClientWebSocket ws)
    {
        var all = new MemoryStream();
        var buf = new byte[8192];
        while (true)
        {
            WebSocketReceiveResult r = Wait(ws.ReceiveAsync(new ArraySegment<byte>(buf), CancellationToken.None));
            all.Write(buf, 0, r.Count);
            if (r.EndOfMessage)
                return (r.MessageType, all.ToArray());
        }
    }
}
