// ChatClient — talks to samples/chat_server (LINE framing).
//
//   ChatClient [--host 127.0.0.1] [--port 9034]
//
// Sends each line of standard input as one message and prints every line the
// server sends. Exits 0 on end of input (after a graceful close) or when the
// server closes the connection, 1 when it cannot connect.
using System.Text;
using IocpNet;

string host = "127.0.0.1";
int tcpPort = 9034;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--host" when i + 1 < args.Length: host = args[++i]; break;
        case "--port" when i + 1 < args.Length && int.TryParse(args[i + 1], out tcpPort): i++; break;
        default:
            Console.Error.WriteLine("usage: ChatClient [--host HOST] [--port PORT]");
            return 2;
    }
}

var client = new ChatHandler();
using var port = new Port(client, new PortOptions { WorkerThreads = 1 });
ConnectionId conn;
try
{
    conn = port.Connect(host, tcpPort, new ConnectionOptions { Framing = Framing.Line });
}
catch (IocpNetException ex)
{
    Console.Error.WriteLine($"cannot connect to {host}:{tcpPort}: {ex.Message}");
    return 1;
}

// Standard input is read on its own thread so that a server close ends the
// program even while a read is blocked.
var reader = new Thread(() =>
{
    string? line;
    while ((line = Console.In.ReadLine()) is not null)
    {
        try
        {
            port.Send(conn, Encoding.UTF8.GetBytes(line));
        }
        catch (IocpNetException ex) when (ex.Code == ErrorCode.NotFound)
        {
            return; // the server closed: the main thread is ending the program
        }
        catch (IocpNetException ex)
        {
            Console.Error.WriteLine($"not sent: {ex.Message}");
        }
    }
    try { port.Close(conn, CloseMode.Graceful); } // flushes what is queued first
    catch (IocpNetException) { }
}) { IsBackground = true, Name = "stdin" };
reader.Start();

client.Done.Wait();
if (client.Failure is { } failure)
{
    Console.Error.WriteLine($"cannot connect to {host}:{tcpPort}: {failure}");
    return 1;
}
return 0;

/// <summary>Prints the server's lines; signals <see cref="Done"/> when the connection ends.</summary>
internal sealed class ChatHandler : IPortHandler
{
    /// <summary>Set when the connection closed or could not be made.</summary>
    public ManualResetEventSlim Done { get; } = new();

    /// <summary>Why the connect failed, or null.</summary>
    public ErrorCode? Failure { get; private set; }

    /// <inheritdoc />
    public void OnConnect(Port port, ConnectionId connection, ErrorCode status)
    {
        if (status == ErrorCode.Ok)
            return;
        Failure = status;
        Done.Set();
    }

    /// <inheritdoc />
    public void OnData(Port port, ConnectionId connection, ReadOnlySpan<byte> line) =>
        Console.Out.WriteLine(Encoding.UTF8.GetString(line));

    /// <inheritdoc />
    public void OnClose(Port port, ConnectionId connection, ErrorCode reason) => Done.Set();
}
