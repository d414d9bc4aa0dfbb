using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IocpNet.Native;

namespace IocpNet;

/// <summary>The engine's process-wide log hook (<c>iocpnet_set_log</c>). Off by default.</summary>
public static unsafe class IocpNetLog
{
    private static readonly object s_lock = new();
    private static Action<LogLevel, string>? s_handler;

    /// <summary>
    /// Sends the engine's messages at <paramref name="level"/> or more severe to
    /// <paramref name="handler"/>, from whatever thread logs them; null turns logging off.
    /// An exception the handler throws is dropped.
    /// </summary>
    /// <param name="level">The least severe level to pass on.</param>
    /// <param name="handler">Receives (level, message); null = off.</param>
    /// <exception cref="IocpNetException">InvalidArg (level out of range).</exception>
    public static void SetHandler(LogLevel level, Action<LogLevel, string>? handler)
    {
        lock (s_lock)
        {
            int rc = handler is null
                ? NativeApi.iocpnet_set_log((uint)level, null, IntPtr.Zero)
                : NativeApi.iocpnet_set_log((uint)level, &OnLogNative, IntPtr.Zero);
            IocpNetException.Check(rc, "IocpNetLog.SetHandler");
            s_handler = handler;
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void OnLogNative(IntPtr user, uint level, byte* message)
    {
        try
        {
            s_handler?.Invoke((LogLevel)level, Marshal.PtrToStringUTF8((IntPtr)message) ?? "");
        }
        catch
        {
            // A failing log sink must not take the engine's thread (or the process) down.
        }
    }
}
