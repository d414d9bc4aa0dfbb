using IocpNet.Native;

namespace IocpNet;

// Per-connection application state, kept in a managed table (no GCHandle to
// leak) and dropped at the connection's last callback. The engine marks an
// id dead only after that callback returns, so a SetUserState racing with it
// could see the id alive and re-insert state nobody would remove: ids whose
// last callback ran are remembered in _ended until the engine agrees they are
// dead, and everything here happens under one lock.
public sealed unsafe partial class Port
{
    private const int EndedPurgeThreshold = 1024;
    private readonly object _stateLock = new();
    private readonly Dictionary<ulong, object> _userState = new();
    private readonly HashSet<ulong> _ended = new();

    /// <summary>Attaches application state to a live connection (null removes it). It is dropped after
    /// <see cref="IPortHandler.OnClose"/> (or a failed <see cref="IPortHandler.OnConnect"/>), so nothing leaks.</summary>
    /// <param name="connection">The connection.</param>
    /// <param name="state">The state.</param>
    /// <exception cref="IocpNetException">NotFound (unknown, closing or closed).</exception>
    public void SetUserState(ConnectionId connection, object? state)
    {
        IntPtr h = Handle;
        lock (_stateLock)
        {
            // The engine's own per-connection pointer serves as the liveness check.
            int rc = NativeApi.iocpnet_conn_get_user(h, connection.Value, out _);
            if (rc < 0)
                throw IocpNetException.FromCode(rc, "SetUserState");
            if (_ended.Contains(connection.Value))
                throw new IocpNetException(ErrorCode.NotFound, "IOCPNET_E_NOT_FOUND",
                    $"connection {connection.Value} has closed", "SetUserState");
            if (state is null)
                _userState.Remove(connection.Value);
            else
                _userState[connection.Value] = state;
        }
    }

    /// <summary>The state attached with <see cref="SetUserState"/>, or null. Still readable inside OnClose.</summary>
    /// <param name="connection">The connection.</param>
    /// <returns>The state or null.</returns>
    public object? GetUserState(ConnectionId connection)
    {
        lock (_stateLock)
            return _userState.TryGetValue(connection.Value, out object? state) ? state : null;
    }

    /// <summary>Number of connections that carry user state (for leak checks).</summary>
    internal int UserStateCount
    {
        get { lock (_stateLock) return _userState.Count; }
    }

    /// <summary>Called after a connection's last callback (OnClose, or OnConnect with an error).</summary>
    private void EndOfLife(ulong conn)
    {
        lock (_stateLock)
        {
            _userState.Remove(conn);
            _ended.Add(conn);
            if (_ended.Count >= EndedPurgeThreshold)
            {
                // Ids are never reused: once the engine says NOT_FOUND, no SetUserState can succeed for them.
                IntPtr h = Volatile.Read(ref _handle);
                if (h != IntPtr.Zero)
                    _ended.RemoveWhere(id => NativeApi.iocpnet_conn_get_user(h, id, out _) == NativeApi.IOCPNET_E_NOT_FOUND);
            }
        }
    }

    private void ClearUserState()
    {
        lock (_stateLock)
        {
            _userState.Clear();
            _ended.Clear();
        }
    }
}
