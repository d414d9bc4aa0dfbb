using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace IocpNet.Native;

/// <summary>Finds the native engine for the generated DllImports ("iocpnet").</summary>
internal static class NativeLibraryLoader
{
    /// <summary>Environment variable naming the native library file to load instead of probing.</summary>
    internal const string OverrideVariable = "IOCPNET_LIBRARY";

#pragma warning disable CA2255 // a library module initializer is the one place that runs before any DllImport
    [ModuleInitializer]
    internal static void Register() => NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLoader).Assembly, Resolve);
#pragma warning restore CA2255

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != "iocpnet")
            return IntPtr.Zero;
        string? path = Environment.GetEnvironmentVariable(OverrideVariable);
        if (!string.IsNullOrEmpty(path))
            return NativeLibrary.Load(path); // an explicit choice that fails must say so, not fall back
        // The app folder and the package's runtimes/<rid>/native/ (default probing).
        if (NativeLibrary.TryLoad(name, assembly, searchPath, out IntPtr handle))
            return handle;
        // A system install without the -dev symlink has only the versioned soname.
        if (OperatingSystem.IsLinux() && NativeLibrary.TryLoad("libiocpnet.so.1", out handle))
            return handle;
        return IntPtr.Zero;
    }
}
