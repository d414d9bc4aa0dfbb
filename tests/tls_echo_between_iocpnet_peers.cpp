// An iocpnet TLS client and server: on_accept / on_connect(OK) come after
// the handshake, bytes sent before on_connect arrive, both sides report the
// session (version, cipher, ALPN, the client's view of the server's subject),
// framing works through TLS, and a graceful close reaches the other side as
// the peer's close (close_notify, then EOF).
#include "tls_support.hpp"

using namespace t;

TEST_CASE("TLS: iocpnet client and server echo, report the session, close gracefully", "[tls]") {
    Tls server_tls(server_options(false, "x-other,x-echo"));
    Tls client_tls(client_options("ca.pem", "x-echo"));
    Recorder srv, cli;
    cli.keep_messages = true;
    std::atomic<bool> info_ok{false};
    make_echo(srv);
    srv.on_accept = [&](iocpnet_port *p, iocpnet_listener, iocpnet_conn c) {
        // the handshake is done by now
        info_ok = tls_info(p, c, IOCPNET_TLS_INFO_VERSION).rfind("TLSv1.", 0) == 0 &&
                  tls_info(p, c, IOCPNET_TLS_INFO_ALPN) == "x-echo";
    };
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    so.framing = IOCPNET_FRAMING_LINE;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);

    iocpnet_conn_options co = tls_conn_options(client_tls, "localhost");
    co.framing = IOCPNET_FRAMING_LINE;
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &co);
    REQUIRE_RC(iocpnet_send(cp, c, "queued before on_connect", 24), IOCPNET_OK);
    REQUIRE(wait_until([&] { return cli.messages(c).size() >= 1; }));
    CHECK(cli.connect_status(c) == IOCPNET_OK);
    REQUIRE_RC(iocpnet_send(cp, c, "second", 6), IOCPNET_OK);
    REQUIRE(wait_until([&] { return cli.messages(c).size() >= 2; }));
    auto m = cli.messages(c);
    CHECK(m[0] == "queued before on_connect");
    CHECK(m[1] == "second");
    CHECK(info_ok.load());

    CHECK(tls_info(cp, c, IOCPNET_TLS_INFO_VERSION) == "TLSv1.3");
    CHECK(!tls_info(cp, c, IOCPNET_TLS_INFO_CIPHER).empty());
    CHECK(tls_info(cp, c, IOCPNET_TLS_INFO_ALPN) == "x-echo");
    CHECK(tls_info(cp, c, IOCPNET_TLS_INFO_PEER_SUBJECT).find("CN=localhost") != std::string::npos);
    CHECK(tls_info(cp, c, IOCPNET_TLS_INFO_ERROR) == "");
    char small[4];
    CHECK_RC(iocpnet_conn_tls_info(cp, c, IOCPNET_TLS_INFO_VERSION, small, sizeof small), IOCPNET_E_LIMIT);
    CHECK_RC(iocpnet_conn_tls_info(cp, c, 99, small, sizeof small), IOCPNET_E_INVALID_ARG);

    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    REQUIRE_RC(iocpnet_close(cp, c, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    REQUIRE(srv.wait_closed(s));
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_PEER_CLOSED));
    REQUIRE(cli.wait_closed(c));
    CHECK(rc_name(cli.close_reason(c)) == rc_name(IOCPNET_OK));
    CHECK(stats(sp).tls_handshakes_failed == 0);
    CHECK(queues_drain(sp)); // close_notify may still be going out after on_close
    CHECK(queues_drain(cp));

    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
}

TEST_CASE("TLS: a plain TCP connection has no TLS info", "[tls]") {
    Recorder srv, cli;
    Port sp(&srv), cp(&cli);
    uint16_t port = listen_on(sp);
    iocpnet_conn c = connect_to(cp, port);
    REQUIRE(wait_until([&] { return cli.connect_status(c) == IOCPNET_OK; }));
    CHECK(tls_info(cp, c, IOCPNET_TLS_INFO_VERSION) == "<IOCPNET_E_UNSUPPORTED>");
    CHECK(tls_info(cp, 12345, IOCPNET_TLS_INFO_VERSION) == "<IOCPNET_E_NOT_FOUND>");
}
