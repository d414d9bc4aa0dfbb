using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using IocpNet.Native;

namespace IocpNet.Tests;

public class ApiTests
{
    [Fact]
    public void Every_generated_DllImport_binds_to_a_native_export()
    {
        // Throws if any entry point (rewritten from SWIG's CSharp_* names) is missing.
        Marshal.PrelinkAll(typeof(NativeMethods));
        Assert.Equal(1, Port.NativeVersion.Major);
    }

    [Fact]
    public unsafe void Struct_mirrors_have_the_C_sizes()
    {
        NativeConfig cfg;
        NativeApi.iocpnet_config_init(&cfg);
        Assert.Equal((uint)sizeof(NativeConfig), cfg.struct_size);
        Assert.Equal(1u, cfg.tcp_nodelay); // a field after the 64-bit one lands where C put it
        NativeConnOptions opt;
        NativeApi.iocpnet_conn_options_init(&opt);
        Assert.Equal((uint)sizeof(NativeConnOptions), opt.struct_size);
        Assert.Equal(NativeApi.IOCPNET_INHERIT, opt.keepalive_s);
        Assert.Equal(0u, opt.half_open); // the appended field: its default lands where C put it
        Assert.Equal(64, sizeof(NativeConnOptions)); // 8 x uint32, then ws_host, ws_path, tls, server_name
        Assert.Equal(IntPtr.Zero, opt.server_name);
        // No _init for these: their LP64 layouts (uint32 + padding + 7 pointers; 2 x uint32 + 8 x uint64; pointer + size_t).
        Assert.Equal(64, sizeof(NativeCallbacks));
        Assert.Equal(16, sizeof(NativeBuf));
        Assert.Equal(72, sizeof(NativeStats));
    }

    [Fact]
    public void ErrorCode_values_match_the_native_error_table()
    {
        foreach (ErrorCode code in Enum.GetValues<ErrorCode>())
        {
            string snake = Regex.Replace(code.ToString(), "(?<=[a-z])(?=[A-Z])", "_").ToUpperInvariant();
            string expected = code == ErrorCode.Ok ? "IOCPNET_OK" : "IOCPNET_E_" + snake;
            Assert.Equal(expected, NativeApi.iocpnet_err_name((int)code));
        }
        Assert.Equal("IOCPNET_E_UNKNOWN", NativeApi.iocpnet_err_name(-1000));
        // The codes are 0, -1, -2, ...: one below the lowest member is not in the engine's table, so none is missing.
        Assert.Equal("IOCPNET_E_UNKNOWN", NativeApi.iocpnet_err_name((int)Enum.GetValues<ErrorCode>().Min() - 1));
    }

    [Fact]
    public void Failures_carry_code_name_and_detail()
    {
        using var a = new Port(new Recorder());
        using var b = new Port(new Recorder());
        int tcpPort = a.Listen(Net.Loopback, 0).Port;
        var ex = Assert.Throws<IocpNetException>(() => b.Listen(Net.Loopback, tcpPort));
        Assert.Equal(ErrorCode.AddrInUse, ex.Code);
        Assert.Equal("IOCPNET_E_ADDR_IN_USE", ex.CodeName);
        Assert.NotNull(ex.Detail);
        Assert.Equal(ErrorCode.AddrInvalid, Assert.Throws<IocpNetException>(() => b.Listen("not an address", 0)).Code);
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Listen(Net.Loopback, 70000));
    }

    [Fact]
    public void Refused_connect_is_reported_by_OnConnect_and_Unlisten_stops_accepting()
    {
        var server = new Recorder();
        var client = new Recorder();
        using var sp = new Port(server);
        using var cp = new Port(client);
        Listener l = sp.Listen(Net.Loopback, 0);
        Net.ConnectOk(cp, client, l.Port);
        server.WaitUntil(r => r.Accepted.Count == 1, "the accept before Unlisten");
        sp.Unlisten(l);
        Assert.Equal(ErrorCode.NotFound, Assert.Throws<IocpNetException>(() => sp.Unlisten(l)).Code);

        // Unlisten takes effect on the listener's worker a moment later (as the header says):
        // until then a connect may complete (Ok) or be reset as the socket closes (ConnReset).
        // Retry until refused.
        ConnectionId c = default;
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            c = cp.Connect(Net.Loopback, l.Port);
            try { cp.SetUserState(c, "doomed"); }
            catch (IocpNetException e) when (e.Code == ErrorCode.NotFound) { } // it already failed: fine
            client.WaitUntil(r => r.Connected.ContainsKey(c.Value), "the connect after Unlisten");
            ErrorCode status = client.Read(r => r.Connected[c.Value]);
            if ((status != ErrorCode.Ok && status != ErrorCode.ConnReset) || DateTime.UtcNow > deadline)
                break;
            try { cp.Close(c, CloseMode.Abort); }
            catch (IocpNetException e) when (e.Code == ErrorCode.NotFound) { } // the engine dropped it first
            Thread.Sleep(50);
        }
        Assert.Equal(ErrorCode.ConnRefused, client.Read(r => r.Connected[c.Value]));
        Assert.False(client.Read(r => r.Closed.ContainsKey(c.Value)), "a failed connect gets no OnClose");
        // Dropped right after the failed connect's OnConnect returns: no leak.
        Net.Eventually(() => cp.UserStateCount == 0, "user state dropped after the failed connect");
        Assert.Null(cp.GetUserState(c));
        Assert.Equal(1, sp.Stats.ConnectionsAccepted);
    }

    [Fact]
    public void Addresses_user_state_and_stats()
    {
        var server = new Recorder();
        var client = new Recorder();
        using var sp = new Port(server);
        using var cp = new Port(client, new PortOptions { WorkerThreads = 1, NoDelay = false, KeepAlive = TimeSpan.FromSeconds(30) });
        int tcpPort = sp.Listen(Net.Loopback, 0).Port;
        ConnectionId c = Net.ConnectOk(cp, client, tcpPort);
        server.WaitUntil(r => r.Accepted.Count == 1, "accept");
        var s = new ConnectionId(server.Read(r => r.Accepted.Single()));

        Assert.Equal($"127.0.0.1:{tcpPort}", cp.GetPeerAddress(c));
        Assert.Equal(cp.GetLocalAddress(c), sp.GetPeerAddress(s));

        var state = new object();
        cp.SetUserState(c, state);
        Assert.Same(state, cp.GetUserState(c));
        cp.SetUserState(c, null);
        Assert.Null(cp.GetUserState(c));
        cp.SetUserState(c, state);
        Assert.Equal(1, cp.UserStateCount);
        Assert.Equal(ErrorCode.NotFound, Assert.Throws<IocpNetException>(() => cp.SetUserState(new ConnectionId(12345), state)).Code);

        PortStats st = cp.Stats;
        Assert.Equal(1, st.ConnectionsOpen);
        Assert.Equal(1, st.ConnectionsConnected);
        Assert.Equal(1, sp.Stats.ConnectionsAccepted);

        sp.Close(s, CloseMode.Abort);
        client.WaitUntil(r => r.Closed.ContainsKey(c.Value), "close seen by the client");
        Assert.NotEqual(ErrorCode.Ok, client.Read(r => r.Closed[c.Value]));
        Net.Eventually(() => cp.UserStateCount == 0, "user state dropped after OnClose");
        Assert.Equal(1, cp.Stats.ConnectionsClosed);
    }

    [Fact]
    public void Unsupported_backend_fails_port_creation_with_a_code()
    {
        var ex = Assert.Throws<IocpNetException>(() => new Port(new Recorder(), new PortOptions { Backend = Backend.Iocp }));
        Assert.Equal(ErrorCode.Unsupported, ex.Code);
    }

    [Fact]
    public void Log_hook_accepts_valid_levels_and_rejects_others()
    {
        var lines = new List<string>();
        IocpNetLog.SetHandler(LogLevel.Debug, (_, m) => { lock (lines) lines.Add(m); });
        using (var p = new Port(new Recorder())) { p.Listen(Net.Loopback, 0); }
        IocpNetLog.SetHandler(LogLevel.Error, null);
        Assert.Equal(ErrorCode.InvalidArg, Assert.Throws<IocpNetException>(() => IocpNetLog.SetHandler((LogLevel)7, null)).Code);
    }
}
