// An iocpnet TLS client against `openssl s_server -rev` (which answers each
// line reversed), with TLS 1.2 and TLS 1.3 forced on the server and ALPN
// negotiated: the client verifies the chain and the name, reports the
// version the server forced, the protocol it chose and its subject.
#include "tls_support.hpp"

using namespace t;

static void run_against_s_server(const char *version_flag, const char *expect_version) {
    uint16_t port = raw::unused_port();
    Proc server({"openssl", "s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert",
                 cert_path("server.pem"), "-key", cert_path("server.key"), version_flag, "-alpn", "x-rev,x-other",
                 "-rev", "-naccept", "1"});
    REQUIRE(server.read_until("ACCEPT"));

    Tls client_tls(client_options("ca.pem", "x-rev"));
    Recorder cli;
    Port cp(&cli);
    iocpnet_conn_options co = tls_conn_options(client_tls, "localhost");
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &co);
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    INFO("error: " << tls_info(cp, c, IOCPNET_TLS_INFO_ERROR));
    REQUIRE(rc_name(cli.connect_status(c)) == rc_name(IOCPNET_OK));
    CHECK(tls_info(cp, c, IOCPNET_TLS_INFO_VERSION) == expect_version);
    CHECK(tls_info(cp, c, IOCPNET_TLS_INFO_ALPN) == "x-rev");
    CHECK(tls_info(cp, c, IOCPNET_TLS_INFO_PEER_SUBJECT).find("CN=localhost") != std::string::npos);

    REQUIRE_RC(iocpnet_send(cp, c, "hello iocpnet\n", 14), IOCPNET_OK);
    REQUIRE(wait_until([&] { return cli.data(c).find('\n') != std::string::npos; }));
    CHECK(cli.data(c) == "tenpcoi olleh\n");

    REQUIRE_RC(iocpnet_close(cp, c, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    REQUIRE(cli.wait_closed(c));
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(cli, true);
}

TEST_CASE("TLS: iocpnet client against openssl s_server, TLS 1.3 forced", "[tls][interop]") {
    run_against_s_server("-tls1_3", "TLSv1.3");
}

TEST_CASE("TLS: iocpnet client against openssl s_server, TLS 1.2 forced", "[tls][interop]") {
    run_against_s_server("-tls1_2", "TLSv1.2");
}
