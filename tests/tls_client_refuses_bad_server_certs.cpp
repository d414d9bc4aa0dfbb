// A verifying client refuses a server certificate signed by a CA it does not
// trust, an expired one and one for another host name: on_connect comes
// with IOCPNET_E_TLS and the reason text, nothing else; the server never
// calls on_accept and counts the refused handshake. verify_peer = 0 accepts
// the same expired certificate.
#include "tls_support.hpp"

using namespace t;

namespace {
struct Case {
    const char *trust, *cert, *key, *name, *expect;
};

void refused(const Case &k) {
    INFO("trust " << k.trust << ", server cert " << k.cert << ", name " << k.name);
    Tls server_tls(server_options(false, nullptr, k.cert, k.key));
    Tls client_tls(client_options(k.trust));
    Recorder srv, cli;
    std::mutex mu;
    std::string reason;
    cli.on_connect = [&](iocpnet_port *p, iocpnet_conn c, int) {
        std::lock_guard<std::mutex> lk(mu);
        reason = tls_info(p, c, IOCPNET_TLS_INFO_ERROR); // readable inside the failed on_connect
    };
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);
    iocpnet_conn_options co = tls_conn_options(client_tls, k.name);
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &co);
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    CHECK(rc_name(cli.connect_status(c)) == rc_name(IOCPNET_E_TLS));
    {
        std::lock_guard<std::mutex> lk(mu);
        INFO("reason: " << reason);
        CHECK(reason.find(k.expect) != std::string::npos);
    }
    // the client's alert ends the server's handshake: counted, never announced
    CHECK(wait_until([&] { return stats(sp).tls_handshakes_failed == 1; }));
    CHECK(srv.n_accepted() == 0);
    CHECK(cli.closes(c) == 0);
    CHECK_RC(iocpnet_send(cp, c, "x", 1), IOCPNET_E_NOT_FOUND);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
    CHECK(cli.events(c).size() == 1);
}
} // namespace

TEST_CASE("TLS: a client refuses a server certificate from an untrusted CA", "[tls][failure]") {
    refused({"other-ca.pem", "server.pem", "server.key", "localhost", "unable to get local issuer certificate"});
}

TEST_CASE("TLS: a client refuses an expired server certificate", "[tls][failure]") {
    refused({"ca.pem", "expired.pem", "expired.key", "localhost", "certificate has expired"});
}

TEST_CASE("TLS: a client refuses a certificate for another host name", "[tls][failure]") {
    refused({"ca.pem", "server.pem", "server.key", "wrong.example", "hostname mismatch"});
}

TEST_CASE("TLS: verify_peer = 0 accepts an expired certificate", "[tls]") {
    Tls server_tls(server_options(false, nullptr, "expired.pem", "expired.key"));
    iocpnet_tls_options o = client_options("other-ca.pem");
    o.verify_peer = 0;
    Tls client_tls(o);
    Recorder srv, cli;
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);
    iocpnet_conn_options co = tls_conn_options(client_tls, "wrong.example");
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &co);
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    CHECK(rc_name(cli.connect_status(c)) == rc_name(IOCPNET_OK));
    CHECK(srv.wait_accepted() != 0);
}
