// SocketsEcho — the idiomatic System.Net.Sockets echo server, the yardstick
// for the IocpNet binding's EchoServer: an accept loop and one async task per
// connection that awaits Socket.ReceiveAsync into its own 64 KiB buffer and
// then Socket.SendAsync of those bytes (looping over partial sends), so at
// most one receive and one send are in flight per connection. The runtime's
// socket engine (epoll on Linux, IOCP on Windows) does the multiplexing.
//
//   SocketsEcho [--host 127.0.0.1] [--port 9034]   (--threads, --backend: accepted, ignored)
//
// Prints "listening on HOST:PORT"; SIGTERM / Ctrl-C stops it with exit 0.
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

string host = "127.0.0.1";
int tcpPort = 9034;
for (int i = 0; i + 1 < args.Length; i += 2)
{
    switch (args[i])
    {
        case "--host": host = args[i + 1]; break;
        case "--port": tcpPort = int.Parse(args[i + 1]); break;
        case "--threads": case "--backend": break;
        default: Console.Error.WriteLine("usage: SocketsEcho [--host HOST] [--port PORT]"); return 2;
    }
}

using var stop = new CancellationTokenSource();
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.Cancel(); });

using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
listener.Bind(new IPEndPoint(IPAddress.Parse(host), tcpPort));
listener.Listen(4096); // 1,000 clients connect at once
Console.Out.WriteLine($"listening on {host}:{((IPEndPoint)listener.LocalEndPoint!).Port}");
Console.Out.Flush();
try
{
    while (true)
    {
        Socket s = await listener.AcceptAsync(stop.Token);
        s.NoDelay = true;
        _ = Echo(s);
    }
}
catch (OperationCanceledException)
{
}
return 0;

static async Task Echo(Socket s)
{
    byte[] buf = new byte[64 << 10];
    try
    {
        while (true)
        {
            int n = await s.ReceiveAsync(buf.AsMemory(), SocketFlags.None);
            if (n == 0)
                break;
            for (int off = 0; off < n;)
                off += await s.SendAsync(buf.AsMemory(off, n - off), SocketFlags.None);
        }
    }
    catch (SocketException)
    {
        // reset by the peer: the connection ends
    }
    finally
    {
        s.Dispose();
    }
}
