using System.Diagnostics;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace IocpNet.Tests;

/// <summary>The test PKI of scripts/make-test-certs.sh (as the C tests use it): build/linux/test-certs, made by
/// scripts/build.sh linux, or made here when missing. IOCPNET_TEST_CERTS overrides the directory.</summary>
public static class TestCerts
{
    private static readonly Lazy<string> s_dir = new(Find);

    public static string Dir => s_dir.Value;

    public static string Path(string name) => System.IO.Path.Combine(Dir, name);

    /// <summary>The test CA as a trust anchor for .NET's own TLS stack.</summary>
    public static X509Certificate2 Ca => X509Certificate2.CreateFromPem(File.ReadAllText(Path("ca.pem")));

    /// <summary>Server options of the test PKI (CN=localhost, SAN localhost/127.0.0.1/::1).</summary>
    public static TlsOptions Server(params string[] alpn) => new()
    {
        Role = TlsRole.Server,
        CertificateFile = Path("server.pem"),
        PrivateKeyFile = Path("server.key"),
        ApplicationProtocols = alpn,
    };

    /// <summary>Validates a server chain against the test CA only (not the system store), host name included.</summary>
    public static bool TrustTestCa(object sender, X509Certificate? cert, X509Chain? chain, SslPolicyErrors errors)
    {
        if (cert is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
            return false;
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.CustomTrustStore.Add(Ca);
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return custom.Build(cert as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(cert.GetRawCertData()));
    }

    private static string Find()
    {
        string? dir = Environment.GetEnvironmentVariable("IOCPNET_TEST_CERTS");
        string root = RepoRoot();
        dir ??= System.IO.Path.Combine(root, "build", "linux", "test-certs");
        if (!File.Exists(System.IO.Path.Combine(dir, "stamp")))
        {
            // The script is idempotent and takes about a second.
            using var p = Process.Start(new ProcessStartInfo("bash")
            {
                ArgumentList = { System.IO.Path.Combine(root, "scripts", "make-test-certs.sh"), dir },
                RedirectStandardError = true,
            })!;
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
                throw new InvalidOperationException($"make-test-certs.sh failed: {err}");
        }
        return dir;
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(System.IO.Path.Combine(d.FullName, "scripts", "make-test-certs.sh")))
                return d.FullName;
        throw new InvalidOperationException("no repository root above " + AppContext.BaseDirectory);
    }
}
