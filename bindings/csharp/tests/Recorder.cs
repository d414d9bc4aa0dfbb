using System.Collections.Concurrent;

namespace IocpNet.Tests;

/// <summary>Called with the bytes of one OnData call (valid only during the call).</summary>
public delegate void DataHook(Port port, ConnectionId connection, ReadOnlySpan<byte> data);

/// <summary>A handler that records every event and lets a test wait for a condition on them.</summary>
public sealed class Recorder : IPortHandler
{
    private readonly object _gate = new();
    private readonly HashSet<ulong> _accepted = new();
    private readonly Dictionary<ulong, ErrorCode> _connected = new();
    private readonly Dictionary<ulong, ErrorCode> _closed = new();
    private readonly Dictionary<ulong, MemoryStream> _bytes = new();
    private readonly Dictionary<ulong, List<byte[]>> _messages = new();
    private readonly Dictionary<ulong, int> _drains = new();
    private readonly List<(ulong Conn, ErrorCode Error)> _framingErrors = new();
    private readonly Dictionary<ulong, int> _peerShutdowns = new();

    /// <summary>Echo what accepted connections send.</summary>
    public bool EchoAccepted { get; set; }

    /// <summary>Runs first in every OnData (may throw, to test the exception policy).</summary>
    public DataHook? OnDataHook { get; set; }

    /// <summary>Runs first in OnAccept, OnPeerShutdown and OnClose respectively.</summary>
    public Action<Port, ConnectionId>? OnAcceptHook { get; set; }
    public Action<Port, ConnectionId>? OnPeerShutdownHook { get; set; }
    public Action<Port, ConnectionId>? OnCloseHook { get; set; }

    /// <summary>Managed ids of the threads that ran callbacks.</summary>
    public ConcurrentDictionary<int, bool> CallbackThreads { get; } = new();

    public void OnAccept(Port port, ulong listener, ConnectionId connection)
    {
        Note();
        OnAcceptHook?.Invoke(port, connection);
        lock (_gate) { _accepted.Add(connection.Value); Monitor.PulseAll(_gate); }
    }

    public void OnConnect(Port port, ConnectionId connection, ErrorCode status)
    {
        Note();
        lock (_gate) { _connected[connection.Value] = status; Monitor.PulseAll(_gate); }
    }

    public void OnData(Port port, ConnectionId connection, ReadOnlySpan<byte> data)
    {
        Note();
        OnDataHook?.Invoke(port, connection, data);
        bool echo;
        lock (_gate)
        {
            if (!_bytes.TryGetValue(connection.Value, out MemoryStream? ms))
                _bytes[connection.Value] = ms = new MemoryStream();
            ms.Write(data);
            if (!_messages.TryGetValue(connection.Value, out List<byte[]>? list))
                _messages[connection.Value] = list = new List<byte[]>();
            list.Add(data.ToArray());
            echo = EchoAccepted && _accepted.Contains(connection.Value);
            Monitor.PulseAll(_gate);
        }
        if (echo)
            port.Send(connection, data);
    }

    public void OnDrain(Port port, ConnectionId connection)
    {
        Note();
        lock (_gate) { _drains[connection.Value] = _drains.GetValueOrDefault(connection.Value) + 1; Monitor.PulseAll(_gate); }
    }

    public void OnClose(Port port, ConnectionId connection, ErrorCode reason)
    {
        Note();
        OnCloseHook?.Invoke(port, connection);
        lock (_gate) { _closed[connection.Value] = reason; Monitor.PulseAll(_gate); }
    }

    public void OnPeerShutdown(Port port, ConnectionId connection)
    {
        Note();
        OnPeerShutdownHook?.Invoke(port, connection);
        lock (_gate) { _peerShutdowns[connection.Value] = _peerShutdowns.GetValueOrDefault(connection.Value) + 1; Monitor.PulseAll(_gate); }
    }

    public void OnFramingError(Port port, ConnectionId connection, ErrorCode error)
    {
        Note();
        lock (_gate) { _framingErrors.Add((connection.Value, error)); Monitor.PulseAll(_gate); }
    }

    private void Note() => CallbackThreads.TryAdd(Environment.CurrentManagedThreadId, true);

    /// <summary>Waits (generously: the machine is shared) until <paramref name="condition"/> holds under the lock.</summary>
    public void WaitUntil(Func<Recorder, bool> condition, string what, int seconds = 60)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(seconds);
        lock (_gate)
        {
            while (!condition(this))
            {
                TimeSpan left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero)
                    throw new TimeoutException($"timed out after {seconds}s waiting for: {what}");
                Monitor.Wait(_gate, left < TimeSpan.FromMilliseconds(200) ? left : TimeSpan.FromMilliseconds(200));
            }
        }
    }

    /// <summary>Runs <paramref name="read"/> under the lock.</summary>
    public T Read<T>(Func<Recorder, T> read) { lock (_gate) return read(this); }

    // Accessors for use inside WaitUntil/Read (the lock is held there).
    public IReadOnlyCollection<ulong> Accepted => _accepted;
    public IReadOnlyDictionary<ulong, ErrorCode> Connected => _connected;
    public IReadOnlyDictionary<ulong, ErrorCode> Closed => _closed;
    public IReadOnlyList<(ulong Conn, ErrorCode Error)> FramingErrors => _framingErrors;
    public long BytesFrom(ConnectionId c) => _bytes.TryGetValue(c.Value, out MemoryStream? ms) ? ms.Length : 0;
    public byte[] BytesArray(ConnectionId c) => _bytes.TryGetValue(c.Value, out MemoryStream? ms) ? ms.ToArray() : Array.Empty<byte>();
    public IReadOnlyList<byte[]> MessagesFrom(ConnectionId c) => _messages.TryGetValue(c.Value, out List<byte[]>? l) ? l : Array.Empty<byte[]>();
    public long TotalBytes => _bytes.Values.Sum(m => m.Length);
    public int Drains(ConnectionId c) => _drains.GetValueOrDefault(c.Value);
    public int PeerShutdowns(ConnectionId c) => _peerShutdowns.GetValueOrDefault(c.Value);
}

/// <summary>Helpers shared by the tests.</summary>
public static class Net
{
    public const string Loopback = "127.0.0.1";

    /// <summary>Connects and waits for OnConnect(Ok).</summary>
    public static ConnectionId ConnectOk(Port port, Recorder rec, int tcpPort, ConnectionOptions? options = null)
    {
        ConnectionId c = port.Connect(Loopback, tcpPort, options);
        rec.WaitUntil(r => r.Connected.ContainsKey(c.Value), $"OnConnect of {c}");
        Assert.Equal(ErrorCode.Ok, rec.Read(r => r.Connected[c.Value]));
        return c;
    }

    /// <summary>Polls until <paramref name="condition"/> holds (for state changed just after a handler returns).</summary>
    public static void Eventually(Func<bool> condition, string what, int seconds = 60)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out after {seconds}s waiting for: {what}");
            Thread.Sleep(10);
        }
    }

    /// <summary>Deterministic test bytes.</summary>
    public static byte[] Pattern(int length, int seed = 1)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }
}
