using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IocpNet.Native;

namespace IocpNet;

/// <summary>
/// A timer on a port's worker threads (<see cref="Port.StartTimer(TimeSpan, TimeSpan?, Action)"/>). It keeps its
/// action alive until it is stopped, has fired (one-shot) or the port is disposed, whether or not this object is
/// still referenced. <see cref="Dispose"/> stops it.
/// </summary>
public sealed class PortTimer : IDisposable
{
    // Native code holds only a token, never a GCHandle: a stop cannot free what a
    // callback already running on another worker is about to read. A token of a
    // stopped timer simply finds nothing here.
    private static readonly ConcurrentDictionary<nint, PortTimer> s_live = new();
    private static long s_nextToken;

    private readonly Port _port;
    private readonly Action<PortTimer> _action;
    private readonly bool _repeating;
    private readonly nint _token;
    private ulong _id; // the engine's id, 0 until iocpnet_timer_start returned

    private PortTimer(Port port, Action<PortTimer> action, bool repeating)
    {
        _port = port;
        _action = action;
        _repeating = repeating;
        _token = (nint)Interlocked.Increment(ref s_nextToken);
    }

    /// <summary>The engine's timer id (<c>iocpnet_timer</c>).</summary>
    public ulong Id => Volatile.Read(ref _id);

    /// <summary>True until the timer is stopped, has fired (one-shot), or its port is disposed.</summary>
    public bool IsActive => s_live.ContainsKey(_token);

    /// <summary>Number of timers alive in the process (for leak checks).</summary>
    internal static int LiveCount => s_live.Count;

    /// <summary>Stops the timer: once this returns the action does not start again (a call already running on
    /// another worker may finish). Works from inside the action.</summary>
    /// <returns>True when this call stopped it; false when it had already fired (one-shot) or was stopped.</returns>
    public bool Stop()
    {
        if (!s_live.TryRemove(_token, out _))
            return false;
        _port.ForgetTimer(this);
        ulong id = Id;
        // id 0: Start has not returned yet; it sees the removal and stops the engine's timer itself.
        if (id != 0)
            _port.StopNativeTimer(id);
        return true;
    }

    /// <summary>Stops the timer (see <see cref="Stop"/>); does nothing when it is not active.</summary>
    public void Dispose() => Stop();

    internal static PortTimer Start(Port port, IntPtr handle, TimeSpan delay, TimeSpan? repeat, Action<PortTimer> action)
    {
        ArgumentNullException.ThrowIfNull(action);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        if (repeat is { } r)
            ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(r, TimeSpan.Zero, nameof(repeat));
        ulong delayMs = Millis(delay);
        ulong repeatMs = repeat is { } rp ? Math.Max(1, Millis(rp)) : 0;
        var timer = new PortTimer(port, action, repeatMs != 0);
        // Registered before the engine can fire it (a zero delay may fire on another worker at once).
        s_live[timer._token] = timer;
        port.RememberTimer(timer);
        int rc;
        unsafe { rc = NativeApi.iocpnet_timer_start(handle, delayMs, repeatMs, &OnTimerNative, timer._token, out ulong id); Volatile.Write(ref timer._id, id); }
        if (rc < 0)
        {
            IocpNetException ex = IocpNetException.FromCode(rc, "StartTimer");
            s_live.TryRemove(timer._token, out _);
            port.ForgetTimer(timer);
            throw ex;
        }
        // Stopped from inside its first run before the id was known: stop the engine's timer now.
        if (!s_live.ContainsKey(timer._token) && timer._repeating)
            port.StopNativeTimer(timer.Id);
        return timer;
    }

    /// <summary>Drops every timer of a disposed port (the engine stopped them all).</summary>
    internal static void Forget(IEnumerable<PortTimer> timers)
    {
        foreach (PortTimer t in timers)
            s_live.TryRemove(t._token, out _);
    }

    private static ulong Millis(TimeSpan t) => (ulong)Math.Ceiling(t.TotalMilliseconds);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnTimerNative(IntPtr arg, IntPtr port, ulong id)
    {
        try
        {
            if (!s_live.TryGetValue(arg, out PortTimer? timer))
                return; // stopped in the meantime
            if (!timer._repeating)
            {
                if (!s_live.TryRemove(arg, out _))
                    return; // stopped just now
                timer._port.ForgetTimer(timer); // a one-shot fires once: nothing keeps it alive after this
            }
            timer._port.RunTimer(timer, timer._action); // catches and reports the action's exceptions
        }
        catch
        {
            // Nothing may unwind into native code.
        }
    }
}

public sealed unsafe partial class Port
{
    private readonly ConcurrentDictionary<PortTimer, bool> _timers = new();

    /// <summary>
    /// Starts a timer on the port's workers: <paramref name="action"/> runs once <paramref name="delay"/> has passed,
    /// then every <paramref name="repeat"/> (null = once), never twice at once; a repeating timer that falls behind
    /// skips the runs it missed. Dispose the returned timer to stop it; until then (or until it fired, or the port
    /// is disposed) the action is kept alive. An exception the action throws is reported through
    /// <see cref="UnhandledHandlerException"/> (callback "Timer") and the timer keeps its schedule.
    /// </summary>
    /// <param name="delay">Time before the first run (rounded up to milliseconds).</param>
    /// <param name="repeat">Period of later runs, positive; null for a one-shot timer.</param>
    /// <param name="action">The work.</param>
    /// <returns>The timer.</returns>
    /// <exception cref="IocpNetException">ShuttingDown, NoMemory.</exception>
    public PortTimer StartTimer(TimeSpan delay, TimeSpan? repeat, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        return PortTimer.Start(this, Handle, delay, repeat, _ => action());
    }

    /// <summary>As <see cref="StartTimer(TimeSpan, TimeSpan?, Action)"/>; the action gets its timer (e.g. to stop it).</summary>
    /// <param name="delay">Time before the first run.</param>
    /// <param name="repeat">Period of later runs, positive; null for a one-shot timer.</param>
    /// <param name="action">The work, given its timer.</param>
    /// <returns>The timer.</returns>
    /// <exception cref="IocpNetException">ShuttingDown, NoMemory.</exception>
    public PortTimer StartTimer(TimeSpan delay, TimeSpan? repeat, Action<PortTimer> action) =>
        PortTimer.Start(this, Handle, delay, repeat, action);

    internal void RememberTimer(PortTimer t) => _timers[t] = true;

    internal void ForgetTimer(PortTimer t) => _timers.TryRemove(t, out _);

    internal void StopNativeTimer(ulong id)
    {
        IntPtr h = Volatile.Read(ref _handle);
        if (h != IntPtr.Zero)
            NativeApi.iocpnet_timer_stop(h, id); // NotFound: it already ended, which is all Stop wants
    }

    internal void RunTimer(PortTimer timer, Action<PortTimer> action)
    {
        Port? outer = t_current;
        try
        {
            t_current = this;
            action(timer);
        }
        catch (Exception ex) { Fail(this, ex, "Timer", 0, close: false); }
        finally { t_current = outer; }
    }
}
