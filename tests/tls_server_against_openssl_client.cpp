// `openssl s_client` (verifying against the test CA, TLS 1.2 and 1.3 forced,
// offering ALPN) against an iocpnet TLS echo server: the line it sends comes
// back, the server sees the version the client forced and the protocol it
// chose, and the client's verification succeeded.
#include "tls_support.hpp"

using namespace t;

static void run_s_client(const char *version_flag, const char *expect_version) {
    Tls server_tls(server_options(false, "x-echo"));
    Recorder srv;
    make_echo(srv);
    std::mutex mu;
    std::string version, alpn;
    srv.on_accept = [&](iocpnet_port *p, iocpnet_listener, iocpnet_conn c) {
        std::lock_guard<std::mutex> lk(mu);
        version = tls_info(p, c, IOCPNET_TLS_INFO_VERSION);
        alpn = tls_info(p, c, IOCPNET_TLS_INFO_ALPN);
    };
    Port sp(&srv);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);

    Proc client({"openssl", "s_client", "-connect", "127.0.0.1:" + std::to_string(port), "-servername", "localhost",
                 "-verify_hostname", "localhost", "-CAfile", cert_path("ca.pem"), "-verify_return_error",
                 version_flag, "-alpn", "x-echo", "-quiet"});
    REQUIRE(client.write("ping through TLS\n"));
    CHECK(client.read_until("ping through TLS\n"));
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    {
        std::lock_guard<std::mutex> lk(mu);
        CHECK(version == expect_version);
        CHECK(alpn == "x-echo");
    }
    // the server closes gracefully: s_client sees close_notify and exits
    REQUIRE_RC(iocpnet_close(sp, s, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    CHECK(client.wait_exit() == 0);
    REQUIRE(srv.wait_closed(s));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("TLS: openssl s_client against an iocpnet echo server, TLS 1.3 forced", "[tls][interop]") {
    run_s_client("-tls1_3", "TLSv1.3");
}

TEST_CASE("TLS: openssl s_client against an iocpnet echo server, TLS 1.2 forced", "[tls][interop]") {
    run_s_client("-tls1_2", "TLSv1.2");
}
