using IocpNet.Native;

namespace IocpNet;

/// <summary>Configuration of a <see cref="Port"/> (<c>iocpnet_config</c>). Defaults match the engine's.</summary>
public sealed class PortOptions
{
    /// <summary>Worker threads that run I/O and handlers; 0 = one per CPU core.</summary>
    public int WorkerThreads { get; set; }

    /// <summary>The I/O backend; <see cref="Backend.Auto"/> picks the best available.</summary>
    public Backend Backend { get; set; } = Backend.Auto;

    /// <summary>Open connections allowed; 0 = unlimited. Beyond it new accepts are closed at once.</summary>
    public int MaxConnections { get; set; }

    /// <summary>Bytes a connection may have queued for sending; 0 = the default (4 MiB). Beyond it sends give WouldBlock.</summary>
    public long MaxSendQueueBytes { get; set; }

    /// <summary>Close a connection that received nothing for this long (reason Timeout); zero = off.</summary>
    public TimeSpan IdleTimeout { get; set; }

    /// <summary>Fail a connect that takes longer than this (status Timeout); zero = the system's limit.</summary>
    public TimeSpan ConnectTimeout { get; set; }

    /// <summary>TCP_NODELAY on connections (default true: no Nagle delay).</summary>
    public bool NoDelay { get; set; } = true;

    /// <summary>TCP keepalive probes after this idle time; zero = off (the default).</summary>
    public TimeSpan KeepAlive { get; set; }

    internal NativeConfig ToNative()
    {
        NativeConfig cfg;
        unsafe { NativeApi.iocpnet_config_init(&cfg); }
        cfg.worker_threads = checked((uint)WorkerThreads);
        cfg.backend = (uint)Backend;
        cfg.max_connections = checked((uint)MaxConnections);
        cfg.max_send_queue_bytes = checked((ulong)MaxSendQueueBytes);
        cfg.idle_timeout_ms = Millis(IdleTimeout);
        cfg.connect_timeout_ms = Millis(ConnectTimeout);
        cfg.tcp_nodelay = NoDelay ? 1u : 0u;
        cfg.keepalive_s = Seconds(KeepAlive);
        return cfg;
    }

    internal static uint Millis(TimeSpan t) => checked((uint)Math.Ceiling(t.TotalMilliseconds));

    internal static uint Seconds(TimeSpan t) => checked((uint)Math.Ceiling(t.TotalSeconds));
}

/// <summary>
/// Options of a listener's accepted connections or of one outgoing connection
/// (<c>iocpnet_conn_options</c>). A null property takes the port's value.
/// </summary>
public sealed partial class ConnectionOptions
{
    /// <summary>How received bytes are cut into <see cref="IPortHandler.OnData"/> calls, and how sends are framed.</summary>
    public Framing Framing { get; set; } = Framing.Raw;

    /// <summary>Largest framed message in bytes; 0 = the default (1 MiB).</summary>
    public int MaxMessageSize { get; set; }

    /// <summary>Idle timeout; null = the port's, zero = off.</summary>
    public TimeSpan? IdleTimeout { get; set; }

    /// <summary>Connect timeout; null = the port's, zero = the system's.</summary>
    public TimeSpan? ConnectTimeout { get; set; }

    /// <summary>TCP_NODELAY; null = the port's.</summary>
    public bool? NoDelay { get; set; }

    /// <summary>TCP keepalive idle time; null = the port's, zero = off.</summary>
    public TimeSpan? KeepAlive { get; set; }

    /// <summary>False (default): the peer's shutdown closes the connection (PeerClosed). True: the connection stays
    /// open for sending and <see cref="IPortHandler.OnPeerShutdown"/> is called instead (see <see cref="Port.ShutdownWrite"/>).</summary>
    public bool HalfOpen { get; set; }

    internal NativeConnOptions ToNative()
    {
        NativeConnOptions opt;
        unsafe { NativeApi.iocpnet_conn_options_init(&opt); }
        opt.framing = (uint)Framing;
        opt.max_message_size = checked((uint)MaxMessageSize);
        opt.idle_timeout_ms = IdleTimeout is { } idle ? PortOptions.Millis(idle) : NativeApi.IOCPNET_INHERIT;
        opt.connect_timeout_ms = ConnectTimeout is { } ct ? PortOptions.Millis(ct) : NativeApi.IOCPNET_INHERIT;
        opt.tcp_nodelay = NoDelay is { } nd ? (nd ? 1u : 0u) : NativeApi.IOCPNET_INHERIT;
        opt.keepalive_s = KeepAlive is { } ka ? PortOptions.Seconds(ka) : NativeApi.IOCPNET_INHERIT;
        opt.half_open = HalfOpen ? 1u : 0u;
        return opt;
    }
}
