// WebSocket over TLS (wss): a listener with a TLS server configuration and
// WEBSOCKET framing, a client connect_ex with both. The TLS handshake runs
// first, then the Upgrade over the session; on_accept / on_connect(OK) come
// after the upgrade (the request path and the TLS session readable in
// on_accept); messages (a masked client one larger than a TLS record)
// echo byte-exact; a graceful close sends the close frame, then close_notify.
#include "tls_support.hpp"

using namespace t;

TEST_CASE("TLS: WebSocket over TLS (wss) upgrades, echoes, closes gracefully", "[tls][ws]") {
    Tls server_tls(server_options());
    Tls client_tls(client_options("ca.pem"));
    Recorder srv, cli;
    cli.keep_messages = true;
    std::atomic<bool> accept_ok{false};
    make_echo(srv);
    srv.on_accept = [&](iocpnet_port *p, iocpnet_listener, iocpnet_conn c) {
        char path[64];
        accept_ok = iocpnet_ws_request_path(p, c, path, sizeof path) == IOCPNET_OK &&
                    std::string(path) == "/chat" &&
                    tls_info(p, c, IOCPNET_TLS_INFO_VERSION).rfind("TLSv1.", 0) == 0;
    };
    Port sp(&srv), cp(&cli);
    iocpnet_conn_options so = tls_conn_options(server_tls);
    so.framing = IOCPNET_FRAMING_WEBSOCKET;
    so.max_message_size = 1u << 20;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &so);

    iocpnet_conn_options co = tls_conn_options(client_tls, "localhost");
    co.framing = IOCPNET_FRAMING_WEBSOCKET;
    co.max_message_size = 1u << 20;
    co.ws_path = "/chat";
    iocpnet_conn c = connect_to(cp, port, "127.0.0.1", &co);
    REQUIRE_RC(iocpnet_ws_set_send_type(cp, c, IOCPNET_WS_TEXT), IOCPNET_OK);
    REQUIRE_RC(iocpnet_send(cp, c, "before the upgrade", 18), IOCPNET_OK); // behind the handshake and the request
    REQUIRE(wait_until([&] { return cli.messages(c).size() >= 1; }));
    CHECK(cli.connect_status(c) == IOCPNET_OK);
    CHECK(accept_ok.load());
    CHECK(cli.messages(c)[0] == "before the upgrade");
    uint32_t type = 0;
    std::string big = random_bytes(100000, 7); // masked in chunks, several TLS records
    REQUIRE_RC(iocpnet_ws_set_send_type(cp, c, IOCPNET_WS_BINARY), IOCPNET_OK);
    REQUIRE_RC(iocpnet_send(cp, c, big.data(), big.size()), IOCPNET_OK);
    REQUIRE_RC(iocpnet_send(cp, c, "", 0), IOCPNET_OK);
    REQUIRE(wait_until([&] { return cli.messages(c).size() >= 3; }));
    CHECK(cli.messages(c)[1] == big);
    CHECK(cli.messages(c)[2].empty());
    REQUIRE_RC(iocpnet_ws_message_type(cp, c, &type), IOCPNET_OK);
    CHECK(type == IOCPNET_WS_BINARY);
    CHECK(tls_info(cp, c, IOCPNET_TLS_INFO_PEER_SUBJECT).find("CN=localhost") != std::string::npos);

    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    REQUIRE_RC(iocpnet_close(cp, c, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    REQUIRE(srv.wait_closed(s));
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_PEER_CLOSED)); // the close frame, answered
    REQUIRE(cli.wait_closed(c));
    CHECK(stats(sp).tls_handshakes_failed == 0);
    CHECK(queues_drain(sp)); // the close frame's answer and close_notify may still be going out
    CHECK(queues_drain(cp));

    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
}
