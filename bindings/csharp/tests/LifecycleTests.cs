using System.Collections.Concurrent;
using System.Text;

namespace IocpNet.Tests;

public class LifecycleTests
{
    [Fact]
    public void Exception_in_handler_is_reported_and_closes_only_that_connection()
    {
        var server = new Recorder { EchoAccepted = true };
        server.OnDataHook = (_, _, data) =>
        {
            if (data.SequenceEqual("boom"u8))
                throw new InvalidOperationException("handler failure");
        };
        var client = new Recorder();
        using var sp = new Port(server);
        using var cp = new Port(client);
        var raised = new ConcurrentQueue<HandlerExceptionEventArgs>();
        sp.UnhandledHandlerException += (sender, e) => { Assert.Same(sp, sender); raised.Enqueue(e); };
        int tcpPort = sp.Listen(Net.Loopback, 0).Port;

        ConnectionId bad = Net.ConnectOk(cp, client, tcpPort);
        ConnectionId good = Net.ConnectOk(cp, client, tcpPort);
        cp.Send(bad, "boom"u8);

        client.WaitUntil(r => r.Closed.ContainsKey(bad.Value), "the failing connection to close");
        Assert.Single(raised);
        Assert.True(raised.TryPeek(out HandlerExceptionEventArgs? e));
        Assert.Equal("OnData", e!.Callback);
        Assert.IsType<InvalidOperationException>(e.Exception);
        Assert.NotNull(e.Connection);
        server.WaitUntil(r => r.Closed.ContainsKey(e.Connection!.Value.Value), "server-side OnClose");

        // The process, the port and the other connection carry on.
        cp.Send(good, "still here"u8);
        client.WaitUntil(r => r.BytesFrom(good) >= 10, "echo on the other connection");
        Assert.Equal("still here", Encoding.ASCII.GetString(client.Read(r => r.BytesArray(good))));
        Assert.False(client.Read(r => r.Closed.ContainsKey(good.Value)));
    }

    [Fact]
    public void Send_after_close_throws_NOT_FOUND()
    {
        var server = new Recorder();
        var client = new Recorder();
        using var sp = new Port(server);
        using var cp = new Port(client);
        ConnectionId c = Net.ConnectOk(cp, client, sp.Listen(Net.Loopback, 0).Port);
        cp.Close(c);
        var ex = Assert.Throws<IocpNetException>(() => cp.Send(c, "late"u8));
        Assert.Equal(ErrorCode.NotFound, ex.Code);
        Assert.Equal("IOCPNET_E_NOT_FOUND", ex.CodeName);
        Assert.Contains("IOCPNET_E_NOT_FOUND", ex.Message);

        client.WaitUntil(r => r.Closed.ContainsKey(c.Value), "OnClose");
        Assert.Equal(ErrorCode.Ok, client.Read(r => r.Closed[c.Value]));
        ex = Assert.Throws<IocpNetException>(() => cp.TrySend(c, "later"u8));
        Assert.Equal(ErrorCode.NotFound, ex.Code);
        Assert.Equal(ErrorCode.NotFound, Assert.Throws<IocpNetException>(() => cp.Close(c)).Code);
    }

    [Fact]
    public void Dispose_with_live_connections_closes_them_and_waits_for_callbacks()
    {
        const int N = 10;
        var server = new Recorder();
        var client = new Recorder();
        using var cp = new Port(client);
        var sp = new Port(server);
        int tcpPort = sp.Listen(Net.Loopback, 0).Port;
        var ids = Enumerable.Range(0, N).Select(_ => Net.ConnectOk(cp, client, tcpPort)).ToArray();
        server.WaitUntil(r => r.Accepted.Count == N, "all accepted");

        sp.Dispose();
        // Every OnClose ran (reason Ok) before Dispose returned.
        Assert.Equal(N, server.Read(r => r.Closed.Count));
        Assert.All(server.Read(r => r.Closed.Values.ToArray()), reason => Assert.Equal(ErrorCode.Ok, reason));
        client.WaitUntil(r => ids.All(id => r.Closed.ContainsKey(id.Value)), "the peers see the close");

        Assert.Throws<ObjectDisposedException>(() => sp.Send(new ConnectionId(1), "x"u8));
        Assert.Throws<ObjectDisposedException>(() => sp.Listen(Net.Loopback, 0));
        sp.Dispose(); // a second Dispose does nothing
    }

    [Fact]
    public void Dispose_inside_a_handler_throws_InvalidOperationException()
    {
        var server = new Recorder { EchoAccepted = true };
        var seen = new ConcurrentQueue<Exception>();
        server.OnDataHook = (port, _, _) =>
        {
            try { port.Dispose(); }
            catch (Exception ex) { seen.Enqueue(ex); }
        };
        var client = new Recorder();
        using var sp = new Port(server);
        using var cp = new Port(client);
        ConnectionId c = Net.ConnectOk(cp, client, sp.Listen(Net.Loopback, 0).Port);
        cp.Send(c, "ping"u8);
        client.WaitUntil(r => r.BytesFrom(c) >= 4, "echo after the refused Dispose");
        Assert.Single(seen);
        Assert.IsType<InvalidOperationException>(seen.First());
        Assert.Contains("inside", seen.First().Message);

        // From a posted action (also a worker thread) too; the port stays usable.
        var posted = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        sp.Post(() =>
        {
            try { sp.Dispose(); posted.SetResult(null); }
            catch (Exception ex) { posted.SetResult(ex); }
        });
        Assert.True(posted.Task.Wait(TimeSpan.FromSeconds(60)));
        Assert.IsType<InvalidOperationException>(posted.Task.Result);
        Assert.True(sp.Stats.ConnectionsOpen >= 1);
    }

    [Fact]
    public void Post_runs_on_a_worker_and_its_exception_is_reported()
    {
        using var port = new Port(new Recorder());
        var ran = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        port.Post(() => ran.SetResult(Environment.CurrentManagedThreadId));
        Assert.True(ran.Task.Wait(TimeSpan.FromSeconds(60)));
        Assert.NotEqual(Environment.CurrentManagedThreadId, ran.Task.Result);

        var reported = new TaskCompletionSource<HandlerExceptionEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        port.UnhandledHandlerException += (_, e) => reported.TrySetResult(e);
        port.Post(() => throw new FormatException("posted failure"));
        Assert.True(reported.Task.Wait(TimeSpan.FromSeconds(60)));
        Assert.Equal("Post", reported.Task.Result.Callback);
        Assert.IsType<FormatException>(reported.Task.Result.Exception);
        Assert.Null(reported.Task.Result.Connection);
    }
}
