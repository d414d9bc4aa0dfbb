// The idle timeout on an upgraded WebSocket connection closes it with a
// close frame 1001 (going away) and on_close(TIMEOUT); a client closed
// before its upgrade completed gets on_connect(SHUTTING_DOWN), no on_close.
#include "ws_peer.hpp"

using namespace t;

TEST_CASE("ws: an idle timeout sends close 1001", "[ws]") {
    Recorder srv;
    Port sp(&srv);
    iocpnet_conn_options o = wst::ws_options();
    o.idle_timeout_ms = 300;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &o);
    wst::Peer peer;
    REQUIRE(peer.connect(port));
    REQUIRE(peer.upgrade());
    iocpnet_conn c = srv.wait_accepted();
    REQUIRE(c != 0);
    wst::Frame f;
    REQUIRE(peer.read_until_close(&f));
    CHECK(f.close_code() == 1001);
    CHECK(peer.ends());
    REQUIRE(srv.wait_closed(c));
    CHECK(srv.close_reason(c) == IOCPNET_E_TIMEOUT);
    check_clean(srv);
}

TEST_CASE("ws: a client closed before the upgrade gets on_connect(SHUTTING_DOWN)", "[ws]") {
    Recorder cli;
    Port cp(&cli);
    raw::Socket lst = raw::Socket::listen("127.0.0.1", 0);
    REQUIRE(lst.valid());
    iocpnet_conn_options o = wst::ws_options();
    iocpnet_conn c = connect_to(cp, lst.local_port(), "127.0.0.1", &o);
    raw::Socket s = lst.accept();
    REQUIRE(s.valid());
    char buf[4096];
    REQUIRE(s.recv_some(buf, sizeof buf, 30000) > 0); // the request is out: TCP is connected
    REQUIRE_RC(iocpnet_close(cp, c, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    REQUIRE(wait_until([&] { return cli.n_connect_failed() == 1; }));
    CHECK(cli.connect_status(c) == IOCPNET_E_SHUTTING_DOWN);
    std::string rest;
    CHECK(s.read_until_end(&rest) == raw::End::eof); // no close frame before an upgrade
    CHECK(rest.empty());
    CHECK(cli.closes(c) == 0);
    check_clean(cli);
}
