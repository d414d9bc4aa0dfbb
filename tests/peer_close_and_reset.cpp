// How the peer ends a connection decides on_close's reason: an orderly
// shutdown is PEER_CLOSED, a reset (SO_LINGER 0, or closing with unread
// data) is CONN_RESET; with data in flight too.
#include "support.hpp"

using namespace t;

TEST_CASE("peer orderly shutdown gives on_close(PEER_CLOSED)", "[close][peer]") {
    Recorder srv;
    Port sp(&srv);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    REQUIRE(peer.send_all("hello", 5));
    REQUIRE(srv.wait_bytes(s, 5));
    peer.shutdown_write();
    REQUIRE(srv.wait_closed(s));
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_PEER_CLOSED));
    CHECK(srv.data(s) == "hello");
    CHECK_RC(iocpnet_send(sp, s, "x", 1), IOCPNET_E_NOT_FOUND);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("peer reset gives on_close(CONN_RESET)", "[close][peer]") {
    Recorder srv;
    Port sp(&srv);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    REQUIRE(peer.send_all("0123456789", 10));
    REQUIRE(srv.wait_bytes(s, 10));
    peer.set_linger0();
    peer.close();
    REQUIRE(srv.wait_closed(s));
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_CONN_RESET));
    CHECK(srv.closes(s) == 1);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("peer reset while the engine has a large send queued", "[close][peer]") {
    iocpnet_config cfg = default_config();
    cfg.max_send_queue_bytes = 64u << 20;
    Recorder srv;
    Port sp(&srv, &cfg);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port, 30000, 4096);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    std::string big = pattern(0, 16u << 20);
    REQUIRE_RC(iocpnet_send(sp, s, big.data(), big.size()), IOCPNET_OK);
    // let the kernel buffers fill, then vanish with a reset
    REQUIRE(wait_until([&] { return stats(sp).bytes_sent > 0; }));
    peer.set_linger0();
    peer.close();
    REQUIRE(srv.wait_closed(s));
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_CONN_RESET));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("peer that closes with unread data (a reset) gives CONN_RESET", "[close][peer]") {
    Recorder srv;
    Port sp(&srv);
    uint16_t port = listen_on(sp);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    std::string b = pattern(0, 20000);
    REQUIRE_RC(iocpnet_send(sp, s, b.data(), b.size()), IOCPNET_OK);
    REQUIRE(wait_until([&] { return stats(sp).bytes_sent >= b.size(); }));
    peer.close(); // never read: the kernel answers with a reset
    REQUIRE(srv.wait_closed(s));
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_CONN_RESET));
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("client side: the server's reset reaches on_close(CONN_RESET)", "[close][peer]") {
    raw::Socket lis = raw::Socket::listen("127.0.0.1", 0);
    REQUIRE(lis.valid());
    Recorder cli;
    Port cp(&cli);
    iocpnet_conn c = connect_to(cp, lis.local_port());
    raw::Socket a = lis.accept();
    REQUIRE(a.valid());
    REQUIRE(wait_until([&] { return cli.n_connected() == 1; }));
    REQUIRE(a.send_all("abc", 3));
    REQUIRE(cli.wait_bytes(c, 3));
    a.set_linger0();
    a.close();
    REQUIRE(cli.wait_closed(c));
    CHECK(rc_name(cli.close_reason(c)) == rc_name(IOCPNET_E_CONN_RESET));
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    check_clean(cli, true);
}
