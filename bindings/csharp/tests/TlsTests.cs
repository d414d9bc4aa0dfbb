using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using IocpNet.Native;

namespace IocpNet.Tests;

/// <summary>TLS through the binding against .NET's own TLS stack (SslStream), the peer nobody here wrote.</summary>
public class TlsTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public unsafe void Tls_options_mirror_matches_the_C_struct()
    {
        NativeTlsOptions o;
        NativeApi.iocpnet_tls_options_init(&o);
        Assert.Equal((uint)sizeof(NativeTlsOptions), o.struct_size);
        Assert.Equal(72, sizeof(NativeTlsOptions)); // 2 x uint32, 6 pointers, uint32 (+pad), a pointer
        Assert.Equal(1u, o.verify_peer);
    }

    [Fact]
    public void SslStream_client_gets_its_bytes_echoed_by_an_iocpnet_tls_server()
    {
        var server = new Recorder { EchoAccepted = true };
        TlsInfo? seen = null;
        server.OnAcceptHook = (p, c) => seen = p.GetTlsInfo(c);
        using var sp = new Port(server);
        Listener l;
        using (var tls = new TlsConfig(TestCerts.Server("echo/1", "http/1.1")))
            l = sp.Listen(Net.Loopback, 0, new ConnectionOptions { Tls = tls });
        // The configuration is disposed: the listener holds its own reference.

        using var tcp = new TcpClient();
        tcp.Connect(IPAddress.Loopback, l.Port);
        using var ssl = new SslStream(tcp.GetStream());
        ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = new() { new SslApplicationProtocol("echo/1") },
            RemoteCertificateValidationCallback = TestCerts.TrustTestCa,
        }).WaitAsync(Deadline).GetAwaiter().GetResult();
        Assert.Equal("echo/1", ssl.NegotiatedApplicationProtocol.ToString());

        byte[] payload = Net.Pattern(256 * 1024, 5);
        ssl.Write(payload);
        byte[] got = ReadExactly(ssl, payload.Length);
        Assert.True(payload.AsSpan().SequenceEqual(got), "echoed bytes differ");

        server.WaitUntil(r => r.Accepted.Count == 1, "OnAccept");
        ConnectionId conn = new(server.Read(r => r.Accepted.First()));
        Assert.NotNull(seen);
        TlsInfo info = seen.Value;
        Assert.Equal(ssl.SslProtocol == SslProtocols.Tls13 ? "TLSv1.3" : "TLSv1.2", info.Version);
        Assert.Equal("echo/1", info.ApplicationProtocol);
        Assert.NotEqual("", info.Cipher);
        Assert.Equal("", info.PeerSubject); // no client certificate was asked for
        Assert.Equal("", info.Error);

        // close_notify, then the TCP close: the server sees a peer close, not an error.
        ssl.ShutdownAsync().WaitAsync(Deadline).GetAwaiter().GetResult();
        tcp.Close();
        server.WaitUntil(r => r.Closed.ContainsKey(conn.Value), "server OnClose");
        Assert.Equal(ErrorCode.PeerClosed, server.Read(r => r.Closed[conn.Value]));
        Assert.Equal(0, sp.Stats.TlsHandshakesFailed);
    }

    [Fact]
    public void Iocpnet_tls_client_verifies_and_talks_to_an_SslStream_server()
    {
        using var peer = new SslEchoServer("echo/1");
        var client = new Recorder();
        TlsInfo? atConnect = null;
        using var cp = new Port(client);
        using var tls = new TlsConfig(new TlsOptions
        {
            Role = TlsRole.Client,
            CaFile = TestCerts.Path("ca.pem"),
            ApplicationProtocols = new[] { "echo/1" },
        });
        var options = new ConnectionOptions { Tls = tls, ServerName = "localhost" };
        ConnectionId c = Net.ConnectOk(cp, client, peer.Port, options);
        atConnect = cp.GetTlsInfo(c);
        Assert.StartsWith("TLSv1.", atConnect.Value.Version);
        Assert.Contains("CN=localhost", atConnect.Value.PeerSubject);
        Assert.Equal("echo/1", atConnect.Value.ApplicationProtocol);
        Assert.Equal("", atConnect.Value.Error);

        byte[] payload = Net.Pattern(100_000, 9);
        for (int off = 0; off < payload.Length; off += 10_000)
            cp.Send(c, payload.AsSpan(off, 10_000));
        client.WaitUntil(r => r.BytesFrom(c) >= payload.Length, "100 kB echoed by SslStream");
        Assert.True(payload.AsSpan().SequenceEqual(client.Read(r => r.BytesArray(c))), "echoed bytes differ");

        // A graceful close sends close_notify: SslStream reads a clean end of stream.
        cp.Close(c);
        Assert.Equal(payload.Length, peer.Finished.WaitAsync(Deadline).GetAwaiter().GetResult());
    }

    [Fact]
    public void Wrong_CA_gives_OnConnect_Tls_with_the_reason()
    {
        using var peer = new SslEchoServer();
        var client = new Recorder();
        string? reason = null;
        using var cp = new Port(new ConnectHook(client, (p, c, status) =>
        {
            if (status == ErrorCode.Tls)
                reason = p.GetTlsInfo(c).Error; // readable inside the failed OnConnect
        }));
        using var tls = new TlsConfig(new TlsOptions { Role = TlsRole.Client, CaFile = TestCerts.Path("other-ca.pem") });
        ConnectionId c = cp.Connect(Net.Loopback, peer.Port, new ConnectionOptions { Tls = tls, ServerName = "localhost" });
        client.WaitUntil(r => r.Connected.ContainsKey(c.Value), "OnConnect");
        Assert.Equal(ErrorCode.Tls, client.Read(r => r.Connected[c.Value]));
        Assert.Contains("verify", reason ?? "", StringComparison.OrdinalIgnoreCase);
        Assert.False(client.Read(r => r.Closed.ContainsKey(c.Value)), "a failed connect gets no OnClose");
        Assert.ThrowsAny<Exception>(() => peer.Finished.WaitAsync(Deadline).GetAwaiter().GetResult());
    }

    [Fact]
    public void Plain_tcp_client_on_a_tls_listener_is_refused_and_counted()
    {
        var server = new Recorder();
        using var sp = new Port(server);
        using var tls = new TlsConfig(TestCerts.Server());
        Listener l = sp.Listen(Net.Loopback, 0, new ConnectionOptions { Tls = tls });
        using var tcp = new TcpClient();
        tcp.Connect(IPAddress.Loopback, l.Port);
        NetworkStream s = tcp.GetStream();
        s.Write("GET / HTTP/1.0\r\n\r\n"u8);
        s.ReadTimeout = (int)Deadline.TotalMilliseconds;
        try
        {
            while (s.Read(new byte[4096]) > 0) { } // an alert perhaps, then the close
        }
        catch (IOException) { } // or a reset
        Net.Eventually(() => sp.Stats.TlsHandshakesFailed == 1, "the refused handshake counted");
        Assert.Empty(server.Read(r => r.Accepted.ToList()));
    }

    [Fact]
    public void Bad_configurations_are_exceptions_with_the_engines_codes()
    {
        var bad = Assert.Throws<IocpNetException>(() => new TlsConfig(new TlsOptions
        {
            CertificatePem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
            PrivateKeyFile = TestCerts.Path("server.key"),
        }));
        Assert.Equal(ErrorCode.Tls, bad.Code);
        Assert.NotEqual("", bad.Detail);

        var mismatch = Assert.Throws<IocpNetException>(() => new TlsConfig(new TlsOptions
        {
            CertificatePem = File.ReadAllText(TestCerts.Path("server.pem")), // PEM text this time
            PrivateKeyPem = File.ReadAllText(TestCerts.Path("client.key")),
        }));
        Assert.Equal(ErrorCode.Tls, mismatch.Code);

        var noKey = Assert.Throws<IocpNetException>(() => new TlsConfig(new TlsOptions { CertificateFile = TestCerts.Path("server.pem") }));
        Assert.Equal(ErrorCode.InvalidArg, noKey.Code);

        using var sp = new Port(new Recorder());
        var clientCfg = new TlsConfig(new TlsOptions { Role = TlsRole.Client });
        // A client configuration on a listener: the role must match.
        var role = Assert.Throws<IocpNetException>(() => sp.Listen(Net.Loopback, 0, new ConnectionOptions { Tls = clientCfg }));
        Assert.Equal(ErrorCode.InvalidArg, role.Code);
        clientCfg.Dispose();
        clientCfg.Dispose(); // twice is harmless
        Assert.Throws<ObjectDisposedException>(() => sp.Connect(Net.Loopback, 1, new ConnectionOptions { Tls = clientCfg }));

        // TLS facts of a plain connection: Unsupported.
        var server = new Recorder();
        using var plain = new Port(server);
        Listener l = plain.Listen(Net.Loopback, 0);
        var client = new Recorder();
        using var cp = new Port(client);
        ConnectionId c = Net.ConnectOk(cp, client, l.Port);
        Assert.Equal(ErrorCode.Unsupported, Assert.Throws<IocpNetException>(() => cp.GetTlsInfo(c)).Code);
    }

    internal static byte[] ReadExactly(Stream s, int n)
    {
        byte[] buf = new byte[n];
        s.ReadExactlyAsync(buf).AsTask().WaitAsync(Deadline).GetAwaiter().GetResult();
        return buf;
    }

    /// <summary>Forwards to a Recorder after running a hook inside OnConnect.</summary>
    private sealed class ConnectHook(Recorder inner, Action<Port, ConnectionId, ErrorCode> hook) : IPortHandler
    {
        public void OnConnect(Port port, ConnectionId connection, ErrorCode status)
        {
            hook(port, connection, status);
            inner.OnConnect(port, connection, status);
        }

        public void OnData(Port port, ConnectionId connection, ReadOnlySpan<byte> data) => inner.OnData(port, connection, data);

        public void OnClose(Port port, ConnectionId connection, ErrorCode reason) => inner.OnClose(port, connection, reason);
    }
}

/// <summary>A TcpListener + SslStream echo server (one connection) with the test server certificate.
/// <see cref="Finished"/> gives the byte count echoed once the client ended the stream cleanly.</summary>
internal sealed class SslEchoServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();

    public SslEchoServer(params string[] alpn)
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        X509Certificate2 cert = X509Certificate2.CreateFromPemFile(TestCerts.Path("server.pem"), TestCerts.Path("server.key"));
        Finished = Task.Run(async () =>
        {
            using TcpClient tcp = await _listener.AcceptTcpClientAsync(_stop.Token);
            using var ssl = new SslStream(tcp.GetStream());
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificate = cert,
                ApplicationProtocols = alpn.Select(a => new SslApplicationProtocol(a)).ToList(),
            }, _stop.Token);
            byte[] buf = new byte[16384];
            int total = 0, n;
            while ((n = await ssl.ReadAsync(buf, _stop.Token)) > 0)
            {
                await ssl.WriteAsync(buf.AsMemory(0, n), _stop.Token);
                total += n;
            }
            return total;
        });
    }

    public int Port { get; }

    public Task<int> Finished { get; }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
    }
}
