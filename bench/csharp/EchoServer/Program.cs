// EchoServer — sends every byte it receives straight back (RAW framing), on
// the IocpNet binding; the C# counterpart of samples/echo_server.c.
//
//   EchoServer [--host 127.0.0.1] [--port 9034] [--threads N] [--backend auto|io_uring|epoll|iocp]
//
// Prints "listening on HOST:PORT" once ready; SIGTERM / Ctrl-C shuts it down
// and it exits 0. The hot path is one TrySend from OnData, with the span the
// engine lent us (no copy). Bytes the engine refuses (WouldBlock) are kept in
// order per connection and sent from OnDrain; beyond 8 MiB the peer is dropped.
using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.InteropServices;
using IocpNet;

string host = "127.0.0.1";
int tcpPort = 9034, threads = 0;
Backend backend = Backend.Auto;
if (args.Length % 2 != 0)
    Usage();
for (int i = 0; i < args.Length; i += 2)
{
    string v = args[i + 1];
    switch (args[i])
    {
        case "--host": host = v; break;
        case "--port": tcpPort = int.Parse(v); break;
        case "--threads": threads = int.Parse(v); break;
        case "--backend":
            backend = v switch
            {
                "auto" => Backend.Auto, "io_uring" => Backend.IoUring, "epoll" => Backend.Epoll, "iocp" => Backend.Iocp,
                _ => throw new ArgumentException($"unknown backend {v}"),
            };
            break;
        default: Usage(); break;
    }
}

using var stop = new ManualResetEventSlim();
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Set(); });
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.Set(); });

using (var port = new Port(new EchoHandler(), new PortOptions { WorkerThreads = threads, Backend = backend }))
{
    Listener listener = port.Listen(host, tcpPort);
    Console.Out.WriteLine($"listening on {host}:{listener.Port}");
    Console.Out.Flush();
    stop.Wait();
    PortStats s = port.Stats;
    Console.Out.WriteLine($"accepted {s.ConnectionsAccepted}, received {s.BytesReceived} B, sent {s.BytesSent} B");
}
return 0;

static void Usage()
{
    Console.Error.WriteLine("usage: EchoServer [--host HOST] [--port PORT] [--threads N] [--backend auto|io_uring|epoll|iocp]");
    Environment.Exit(2);
}

/// <summary>Echoes every byte back, in order, holding what the engine refuses until OnDrain.</summary>
internal sealed class EchoHandler : IPortHandler
{
    private const int PendingMax = 8 << 20;
    private const int Chunk = 256 << 10;

    // Only connections with refused bytes have an entry; one connection's
    // callbacks never overlap, so its buffer needs no lock.
    private readonly ConcurrentDictionary<ulong, Pending> _pending = new();

    /// <inheritdoc />
    public void OnData(Port port, ConnectionId connection, ReadOnlySpan<byte> data)
    {
        if (_pending.TryGetValue(connection.Value, out Pending? p))
        {
            if (!p.TryAppend(data))
                port.Close(connection, CloseMode.Abort);
            return;
        }
        if (!port.TrySend(connection, data))
        {
            p = new Pending();
            p.TryAppend(data);
            _pending[connection.Value] = p;
        }
    }

    /// <inheritdoc />
    public void OnDrain(Port port, ConnectionId connection)
    {
        if (!_pending.TryGetValue(connection.Value, out Pending? p))
            return;
        while (p.Length > 0)
        {
            int n = Math.Min(p.Length, Chunk);
            if (!port.TrySend(connection, p.Peek(n)))
                return; // another OnDrain follows
            p.Consume(n);
        }
        _pending.TryRemove(connection.Value, out _);
    }

    /// <inheritdoc />
    public void OnClose(Port port, ConnectionId connection, ErrorCode reason) =>
        _pending.TryRemove(connection.Value, out _);

    private sealed class Pending
    {
        private byte[] _buf = new byte[64 << 10];
        private int _start, _end;

        public int Length => _end - _start;

        public bool TryAppend(ReadOnlySpan<byte> data)
        {
            if (Length + data.Length > PendingMax)
                return false;
            if (_end + data.Length > _buf.Length)
            {
                int size = Math.Max(_buf.Length, (int)BitOperations.RoundUpToPowerOf2((uint)(Length + data.Length)));
                byte[] nb = size == _buf.Length ? _buf : new byte[size]; // compact in place when it fits
                _buf.AsSpan(_start, Length).CopyTo(nb);
                (_buf, _end, _start) = (nb, Length, 0);
            }
            data.CopyTo(_buf.AsSpan(_end));
            _end += data.Length;
            return true;
        }

        public ReadOnlySpan<byte> Peek(int n) => _buf.AsSpan(_start, n);

        public void Consume(int n) => _start += n;
    }
}
