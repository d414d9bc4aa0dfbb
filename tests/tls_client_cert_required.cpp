// A server that requires client certificates (ca_* set) accepts a client
// with one signed by its CA (and reports the client's subject), and refuses
// one without a certificate or with one from another CA: the server never
// calls on_accept and counts it; the client gets on_connect(IOCPNET_E_TLS),
// or with TLS 1.3 (where the client finishes first) on_connect(OK) and then
// on_close(IOCPNET_E_TLS).
#include "tls_support.hpp"

using namespace t;

TEST_CASE("TLS: a server requiring client certificates accepts one from its CA", "[tls]") {
    Tls server_tls(server_options(true));
    iocpnet_tls_options co_tls = client_options();
    std::string cert = cert_path("client.pem"), key = cert_path("client.key");
    co_tls.cert_file = cert.c_str();
    co_tls.key_file = key.c_str();
    Tls client_tls(co_tls);
    Recorder srv, cli;
    std::mutex mu;
    std::string subject;
    srv.on_accept = [&](iocpnet_port *p, iocpnet_listener, iocpnet_conn c) {
        std::lock_guard<std::mutex> lk(mu);
        subject = tls_info(p, c, IOCPNET_TLS_INFO_PEER_SUBJECT);
    };
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);
    iocpnet_conn_options co = tls_conn_options(client_tls);
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &co);
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    CHECK(rc_name(cli.connect_status(c)) == rc_name(IOCPNET_OK));
    REQUIRE(srv.wait_accepted() != 0); // after on_accept has stored the subject
    std::lock_guard<std::mutex> lk(mu);
    CHECK(subject.find("CN=iocpnet test client") != std::string::npos);
}

static void refused(const char *cert, const char *key) {
    INFO("client certificate: " << (cert ? cert : "none"));
    Tls server_tls(server_options(true));
    iocpnet_tls_options co_tls = client_options();
    std::string cp_, kp_;
    if (cert) {
        cp_ = cert_path(cert), kp_ = cert_path(key);
        co_tls.cert_file = cp_.c_str();
        co_tls.key_file = kp_.c_str();
    }
    Tls client_tls(co_tls);
    Recorder srv, cli;
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);
    iocpnet_conn_options co = tls_conn_options(client_tls);
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &co);
    REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
    // TLS 1.3: the client's handshake is complete before the server judges its certificate
    if (cli.connect_status(c) == IOCPNET_OK) {
        REQUIRE(cli.wait_closed(c));
        CHECK(rc_name(cli.close_reason(c)) == rc_name(IOCPNET_E_TLS));
    } else {
        CHECK(rc_name(cli.connect_status(c)) == rc_name(IOCPNET_E_TLS));
    }
    CHECK(wait_until([&] { return stats(sp).tls_handshakes_failed == 1; }));
    CHECK(srv.n_accepted() == 0);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
}

TEST_CASE("TLS: a server requiring client certificates refuses a client without one", "[tls][failure]") {
    refused(nullptr, nullptr);
}

TEST_CASE("TLS: a server requiring client certificates refuses one from another CA", "[tls][failure]") {
    refused("other-server.pem", "other-server.key");
}
