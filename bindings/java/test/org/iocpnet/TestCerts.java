package org.iocpnet;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * The test PKI of scripts/make-test-certs.sh (as the C tests use it): build/linux/test-certs, made by
 * scripts/build.sh linux, or made here when missing (env IOCPNET_TEST_CERTS overrides the directory), and
 * JSSE contexts built from its PEM files.
 */
final class TestCerts {
    private static Path dir;

    private TestCerts() {}

    static synchronized Path dir() throws Exception {
        if (dir != null) return dir;
        // test-classes lives in <root>/build/java/test-classes
        Path root = Paths.get(TestCerts.class.getProtectionDomain().getCodeSource().getLocation().toURI())
                .getParent().getParent().getParent();
        String env = System.getenv("IOCPNET_TEST_CERTS");
        Path d = env != null ? Paths.get(env) : root.resolve("build/linux/test-certs");
        if (!Files.exists(d.resolve("stamp"))) {
            Process p = new ProcessBuilder("bash", root.resolve("scripts/make-test-certs.sh").toString(), d.toString())
                    .inheritIO().start();
            if (p.waitFor() != 0) throw new IllegalStateException("make-test-certs.sh failed");
        }
        return dir = d;
    }

    static String path(String name) throws Exception { return dir().resolve(name).toString(); }

    static TlsOptions server(String... alpn) throws Exception {
        return new TlsOptions().role(TlsRole.SERVER).certificateFile(path("server.pem"))
                .privateKeyFile(path("server.key")).applicationProtocols(alpn);
    }

    static X509Certificate certificate(String name) throws Exception {
        try (InputStream in = Files.newInputStream(dir().resolve(name))) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        }
    }

    /** A client context that trusts the test CA only. */
    static SSLContext trustingTestCa() throws Exception {
        KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
        ks.load(null, null);
        ks.setCertificateEntry("test-ca", certificate("ca.pem"));
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(ks);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }

    /** A server context with server.pem and its key (PKCS#8 PEM, an EC P-256 key). */
    static SSLContext serverContext() throws Exception {
        String pem = Files.readString(dir().resolve("server.key"));
        String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
        PrivateKey key = KeyFactory.getInstance("EC").generatePrivate(new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64)));
        char[] pw = "test".toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("server", key, pw, new Certificate[] {certificate("server.pem")});
        KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pw);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(kmf.getKeyManagers(), null, null);
        return ctx;
    }
}
