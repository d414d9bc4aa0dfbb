using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace IocpNet.Tests;

// Port.StartTimer (PortTimer) and Port.Post(connection, action).
public class TimerAndPostTests
{
    [Fact]
    public void Repeating_timer_fires_repeatedly_on_a_worker_and_stops_when_disposed()
    {
        using var port = new Port(new Recorder());
        int runs = 0;
        var threads = new ConcurrentDictionary<int, bool>();
        var sw = Stopwatch.StartNew();
        PortTimer t = port.StartTimer(TimeSpan.FromMilliseconds(30), TimeSpan.FromMilliseconds(10), () =>
        {
            threads.TryAdd(Environment.CurrentManagedThreadId, true);
            Interlocked.Increment(ref runs);
        });
        Assert.True(t.IsActive);
        Assert.NotEqual(0UL, t.Id);
        Net.Eventually(() => Volatile.Read(ref runs) >= 5, "five runs");
        Assert.True(sw.ElapsedMilliseconds >= 30 + 4 * 10 - 1, $"five runs after {sw.ElapsedMilliseconds} ms");
        t.Dispose();
        Assert.False(t.IsActive);
        Assert.False(t.Stop()); // already stopped
        Thread.Sleep(50); // a run already under way when Dispose returned may finish
        int atStop = Volatile.Read(ref runs);
        Thread.Sleep(300);
        Assert.Equal(atStop, Volatile.Read(ref runs));
        Assert.DoesNotContain(Environment.CurrentManagedThreadId, threads.Keys);
    }

    [Fact]
    public void One_shot_timer_fires_once_not_before_its_delay()
    {
        using var port = new Port(new Recorder());
        int runs = 0;
        var sw = Stopwatch.StartNew();
        long firedAt = -1;
        using PortTimer t = port.StartTimer(TimeSpan.FromMilliseconds(100), null, () =>
        {
            Interlocked.Exchange(ref firedAt, sw.ElapsedMilliseconds);
            Interlocked.Increment(ref runs);
        });
        Net.Eventually(() => Volatile.Read(ref runs) == 1, "the run");
        Assert.True(Interlocked.Read(ref firedAt) >= 99, $"fired after {firedAt} ms");
        Net.Eventually(() => !t.IsActive, "a fired one-shot is no longer active");
        Assert.False(t.Stop());
        Thread.Sleep(200);
        Assert.Equal(1, Volatile.Read(ref runs));
    }

    [Fact]
    public void Timer_stops_itself_from_its_action_and_reports_exceptions_without_stopping()
    {
        using var port = new Port(new Recorder());
        var reported = new ConcurrentQueue<HandlerExceptionEventArgs>();
        port.UnhandledHandlerException += (_, e) => reported.Enqueue(e);
        int runs = 0;
        PortTimer t = port.StartTimer(TimeSpan.Zero, TimeSpan.FromMilliseconds(5), self =>
        {
            int n = Interlocked.Increment(ref runs);
            if (n < 3)
                throw new InvalidOperationException($"run {n}");
            Assert.True(self.Stop());
        });
        Net.Eventually(() => !t.IsActive, "the timer stopped itself");
        Thread.Sleep(100);
        Assert.Equal(3, Volatile.Read(ref runs));
        Assert.Equal(2, reported.Count);
        Assert.All(reported, e =>
        {
            Assert.Equal("Timer", e.Callback);
            Assert.IsType<InvalidOperationException>(e.Exception);
            Assert.Null(e.Connection);
        });
    }

    [Fact]
    public void Unreferenced_timer_keeps_its_action_alive_through_collections_until_the_port_is_disposed()
    {
        var port = new Port(new Recorder());
        var runs = new StrongBox<int>();
        WeakReference timer = StartForgotten(port, runs);
        for (int i = 0; i < 5; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            int before = Volatile.Read(ref runs.Value);
            Net.Eventually(() => Volatile.Read(ref runs.Value) > before, "a run after a collection");
        }
        Assert.True(timer.IsAlive, "the port keeps the timer of a running schedule");
        port.Dispose(); // stops every timer
        int atDispose = Volatile.Read(ref runs.Value);
        Thread.Sleep(200);
        Assert.Equal(atDispose, Volatile.Read(ref runs.Value));
        Assert.False(IsActive(timer));
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(timer.IsAlive, "a stopped timer is no longer kept");
        Assert.Throws<ObjectDisposedException>(() => port.StartTimer(TimeSpan.Zero, null, () => { }));
    }

    [MethodImpl(MethodImplOptions.NoInlining)] // no strong reference left in the caller's frame
    private static bool IsActive(WeakReference timer) => ((PortTimer)timer.Target!).IsActive;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference StartForgotten(Port port, StrongBox<int> runs) =>
        new(port.StartTimer(TimeSpan.Zero, TimeSpan.FromMilliseconds(5), () => Interlocked.Increment(ref runs.Value)));

    [Fact]
    public void Post_runs_on_the_connections_worker_between_its_callbacks_and_before_OnClose()
    {
        var order = new ConcurrentDictionary<ulong, ConcurrentQueue<string>>();
        var acceptThread = new ConcurrentDictionary<ulong, int>();
        var server = new Recorder();
        server.OnAcceptHook = (_, c) => acceptThread[c.Value] = Environment.CurrentManagedThreadId;
        server.OnCloseHook = (_, c) => order.GetOrAdd(c.Value, _ => new()).Enqueue("close");
        using var sp = new Port(server, new PortOptions { WorkerThreads = 2 });
        int tcpPort = sp.Listen(Net.Loopback, 0).Port;
        var peers = Enumerable.Range(0, 4).Select(_ =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Connect(IPAddress.Loopback, tcpPort);
            return s;
        }).ToList();
        server.WaitUntil(r => r.Accepted.Count == 4, "four accepts");
        ulong[] ids = server.Read(r => r.Accepted.ToArray());

        var postThread = new ConcurrentDictionary<ulong, int>();
        foreach (ulong id in ids)
        {
            var c = new ConnectionId(id);
            for (int i = 0; i < 50; i++)
            {
                int n = i;
                sp.Post(c, () =>
                {
                    postThread[id] = Environment.CurrentManagedThreadId;
                    order.GetOrAdd(id, _ => new()).Enqueue($"post {n}");
                });
            }
            sp.Close(c); // the posts still run, all of them before OnClose
        }
        server.WaitUntil(r => r.Closed.Count == 4, "four closes");
        foreach (ulong id in ids)
        {
            var expected = Enumerable.Range(0, 50).Select(n => $"post {n}").Append("close");
            Assert.Equal(expected, order[id]);
            Assert.Equal(acceptThread[id], postThread[id]);
        }
        Assert.Equal(ErrorCode.NotFound, Assert.Throws<IocpNetException>(() => sp.Post(new ConnectionId(ids[0]), () => { })).Code);
        peers.ForEach(p => p.Dispose());
    }

    [Fact]
    public void Post_from_a_handler_waits_for_it_survives_a_collection_and_reports_exceptions()
    {
        var ran = new ConcurrentQueue<string>();
        var reported = new TaskCompletionSource<HandlerExceptionEventArgs>(TaskCreationOptions.RunContinuationsAsynchronously);
        var server = new Recorder();
        server.OnDataHook = (p, c, data) =>
        {
            if (data[0] == (byte)'a')
            {
                p.Post(c, () => ran.Enqueue("post"));
                GC.Collect(); // nothing but the port references the action now
                GC.WaitForPendingFinalizers();
                Thread.Sleep(50);
                ran.Enqueue("handler"); // serialized: the post waits for this handler to return
            }
            else
            {
                p.Post(c, () => throw new FormatException("posted failure"));
            }
        };
        using var sp = new Port(server);
        sp.UnhandledHandlerException += (_, e) => reported.TrySetResult(e);
        int tcpPort = sp.Listen(Net.Loopback, 0).Port;
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        peer.Connect(IPAddress.Loopback, tcpPort);
        peer.Send("a"u8);
        Net.Eventually(() => ran.Count == 2, "the handler and the post");
        Assert.Equal(new[] { "handler", "post" }, ran);

        peer.Send("b"u8);
        Assert.True(reported.Task.Wait(TimeSpan.FromSeconds(60)));
        Assert.Equal("Post", reported.Task.Result.Callback);
        Assert.IsType<FormatException>(reported.Task.Result.Exception);
        server.WaitUntil(r => r.Closed.Count == 1, "the connection is aborted like after a throwing handler");
        Assert.Equal(reported.Task.Result.Connection!.Value.Value, server.Read(r => r.Closed.Keys.Single()));
    }
}
