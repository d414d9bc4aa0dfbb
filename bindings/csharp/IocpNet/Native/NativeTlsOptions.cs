using System.Runtime.InteropServices;

namespace IocpNet.Native;

/// <summary>Blittable mirror of <c>iocpnet_tls_options</c>, field for field (its size is checked against the
/// struct_size <c>iocpnet_tls_options_init</c> writes). Strings are NUL-terminated UTF-8 owned by the caller
/// for the duration of <c>iocpnet_tls_create</c>, which copies them.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NativeTlsOptions
{
    public uint struct_size;
    public uint role;
    public IntPtr cert_pem;
    public IntPtr key_pem;
    public IntPtr cert_file;
    public IntPtr key_file;
    public IntPtr ca_pem;
    public IntPtr ca_file;
    public uint verify_peer;
    public IntPtr alpn;
}
