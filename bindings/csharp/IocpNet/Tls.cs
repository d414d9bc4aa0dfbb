using System.Runtime.InteropServices;
using IocpNet.Native;

namespace IocpNet;

/// <summary>Which end of the TLS handshake a <see cref="TlsConfig"/> is for.</summary>
public enum TlsRole
{
    /// <summary>Accepted connections (<see cref="Port.Listen"/>): needs a certificate and its private key.</summary>
    Server = 0,
    /// <summary>Outgoing connections (<see cref="Port.Connect"/>): verifies the server (by default).</summary>
    Client = 1,
}

/// <summary>
/// What a <see cref="TlsConfig"/> is made from (<c>iocpnet_tls_options</c>). Each PEM item is given either as
/// text or as a file path; null leaves it out.
/// </summary>
public sealed class TlsOptions
{
    /// <summary>Server or client (default <see cref="TlsRole.Server"/>).</summary>
    public TlsRole Role { get; set; } = TlsRole.Server;

    /// <summary>The certificate chain as PEM text (server: required, here or as <see cref="CertificateFile"/>;
    /// client: an optional client certificate).</summary>
    public string? CertificatePem { get; set; }

    /// <summary>The certificate's private key as PEM text.</summary>
    public string? PrivateKeyPem { get; set; }

    /// <summary>The certificate chain as a PEM file.</summary>
    public string? CertificateFile { get; set; }

    /// <summary>The private key as a PEM file.</summary>
    public string? PrivateKeyFile { get; set; }

    /// <summary>Trusted CA certificates as PEM text. Client: null (with <see cref="CaFile"/> null) = the system's
    /// store. Server: set = client certificates are required and verified against it.</summary>
    public string? CaPem { get; set; }

    /// <summary>Trusted CA certificates as a PEM file (see <see cref="CaPem"/>).</summary>
    public string? CaFile { get; set; }

    /// <summary>Client: verify the server's chain and host name (default true). Turn off for tests only.</summary>
    public bool VerifyPeer { get; set; } = true;

    /// <summary>ALPN protocols offered (client) or accepted (server) in order of preference, e.g. "h2", "http/1.1";
    /// null or empty = no ALPN.</summary>
    public IList<string>? ApplicationProtocols { get; set; }
}

/// <summary>
/// A TLS configuration (<c>iocpnet_tls</c>) for <see cref="ConnectionOptions.Tls"/>: certificates, trusted CAs,
/// verification and ALPN, shared by any number of listeners and connections. Everything is copied when it is
/// created. Dispose it when no new listener or connection needs it: those already made with it keep their own
/// reference. Thread-safe.
/// </summary>
public sealed class TlsConfig : IDisposable
{
    private readonly TlsHandle _handle;

    /// <summary>Creates a configuration.</summary>
    /// <param name="options">Role, certificate and key, CAs, verification, ALPN.</param>
    /// <exception cref="IocpNetException"><see cref="ErrorCode.Tls"/> for unreadable or malformed PEM or a key that
    /// does not match the certificate (see <see cref="IocpNetException.Detail"/>); InvalidArg for a server without a
    /// certificate or key or a bad ALPN list; Unsupported where the engine has no TLS provider.</exception>
    public TlsConfig(TlsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Role = options.Role;
        var strings = new List<IntPtr>();
        IntPtr Utf8(string? s)
        {
            if (s is null)
                return IntPtr.Zero;
            IntPtr p = Marshal.StringToCoTaskMemUTF8(s);
            strings.Add(p);
            return p;
        }
        try
        {
            NativeTlsOptions o;
            unsafe { NativeApi.iocpnet_tls_options_init(&o); }
            o.role = (uint)options.Role;
            o.cert_pem = Utf8(options.CertificatePem);
            o.key_pem = Utf8(options.PrivateKeyPem);
            o.cert_file = Utf8(options.CertificateFile);
            o.key_file = Utf8(options.PrivateKeyFile);
            o.ca_pem = Utf8(options.CaPem);
            o.ca_file = Utf8(options.CaFile);
            o.verify_peer = options.VerifyPeer ? 1u : 0u;
            o.alpn = options.ApplicationProtocols is { Count: > 0 } alpn ? Utf8(string.Join(",", alpn)) : IntPtr.Zero;
            int rc;
            IntPtr tls;
            unsafe { rc = NativeApi.iocpnet_tls_create(&o, out tls); }
            IocpNetException.Check(rc, "TlsConfig"); // reads the detail before anything else calls the engine
            _handle = new TlsHandle(tls);
        }
        finally
        {
            foreach (IntPtr p in strings)
                Marshal.FreeCoTaskMem(p); // tls_create copied them
        }
    }

    /// <summary>The role it was made for.</summary>
    public TlsRole Role { get; }

    /// <summary>Drops this object's reference; listeners and connections using the configuration keep theirs.
    /// Calling it again does nothing.</summary>
    public void Dispose() => _handle.Dispose();

    /// <summary>Keeps the native configuration alive for one engine call (listen_ex/connect_ex take their own
    /// reference during it). Throws ObjectDisposedException after <see cref="Dispose"/>.</summary>
    internal IntPtr AddRef()
    {
        bool added = false;
        try
        {
            _handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            throw new ObjectDisposedException(nameof(TlsConfig));
        }
        return _handle.DangerousGetHandle();
    }

    internal void Release() => _handle.DangerousRelease();

    // A SafeHandle counts the calls in flight, so Dispose on one thread never frees the configuration under a
    // Listen/Connect on another, and a forgotten Dispose is still released by the finalizer.
    private sealed class TlsHandle : SafeHandle
    {
        public TlsHandle(IntPtr tls) : base(IntPtr.Zero, ownsHandle: true) => SetHandle(tls);

        public override bool IsInvalid => handle == IntPtr.Zero;

        protected override bool ReleaseHandle() => NativeApi.iocpnet_tls_release(handle) == 0;
    }
}

/// <summary>The session facts of a TLS connection (<see cref="Port.GetTlsInfo"/>): "" for what is not known
/// (before the handshake, or after a failure only <see cref="Error"/>).</summary>
/// <param name="Version">"TLSv1.3", "TLSv1.2".</param>
/// <param name="Cipher">e.g. "TLS_AES_256_GCM_SHA384".</param>
/// <param name="ApplicationProtocol">The negotiated ALPN protocol, "" when none.</param>
/// <param name="PeerSubject">The peer certificate's subject, e.g. "CN=localhost,O=iocpnet", "" when none.</param>
/// <param name="Error">Why the handshake or the session failed, "" when it did not (readable in
/// <see cref="IPortHandler.OnConnect"/> with <see cref="ErrorCode.Tls"/> and in <see cref="IPortHandler.OnClose"/>).</param>
public readonly record struct TlsInfo(string Version, string Cipher, string ApplicationProtocol, string PeerSubject, string Error);
