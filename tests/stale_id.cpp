// After on_close an id is dead: every function that takes it gives
// NOT_FOUND (send_many skips it), also when its slot is in use again; ids
// are never reused within a port; made-up ids are NOT_FOUND too.
#include "support.hpp"

using namespace t;

namespace {

// After on_close every function gives NOT_FOUND. While closing (close
// returned, on_close not yet run) get_user and the addresses still answer
// (the header lets on_close use them), so `closing` leaves them out.
void check_dead(iocpnet_port *p, iocpnet_conn c, bool closing = false) {
    INFO("conn id " << c << (closing ? " (closing)" : ""));
    char buf[IOCPNET_ADDRSTRLEN];
    void *u = nullptr;
    CHECK_RC(iocpnet_send(p, c, "x", 1), IOCPNET_E_NOT_FOUND);
    CHECK_RC(iocpnet_close(p, c, IOCPNET_CLOSE_GRACEFUL), IOCPNET_E_NOT_FOUND);
    CHECK_RC(iocpnet_close(p, c, IOCPNET_CLOSE_ABORT), IOCPNET_E_NOT_FOUND);
    CHECK_RC(iocpnet_conn_set_user(p, c, &u), IOCPNET_E_NOT_FOUND);
    if (!closing) {
        CHECK_RC(iocpnet_conn_get_user(p, c, &u), IOCPNET_E_NOT_FOUND);
        CHECK_RC(iocpnet_conn_peer_address(p, c, buf, sizeof buf), IOCPNET_E_NOT_FOUND);
        CHECK_RC(iocpnet_conn_local_address(p, c, buf, sizeof buf), IOCPNET_E_NOT_FOUND);
    }
    size_t queued = 99;
    CHECK_RC(iocpnet_send_many(p, &c, 1, "x", 1, &queued), IOCPNET_OK);
    CHECK(queued == 0);
}

} // namespace

TEST_CASE("every id-taking function gives NOT_FOUND after on_close", "[stale]") {
    Recorder srv;
    Port sp(&srv);
    uint16_t port = listen_on(sp);

    // closed by this side
    raw::Socket p1 = raw::Socket::connect("127.0.0.1", port);
    iocpnet_conn c1 = srv.wait_accepted(0);
    REQUIRE(c1 != 0);
    REQUIRE_RC(iocpnet_close(sp, c1, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    check_dead(sp, c1, true); // dead for sending as soon as close returned
    REQUIRE(srv.wait_closed(c1));
    check_dead(sp, c1);

    // closed by the peer
    raw::Socket p2 = raw::Socket::connect("127.0.0.1", port);
    iocpnet_conn c2 = srv.wait_accepted(1);
    REQUIRE(c2 != 0);
    p2.close();
    REQUIRE(srv.wait_closed(c2));
    check_dead(sp, c2);

    // a live connection (likely in a recycled slot) works while the old ids stay dead
    raw::Socket p3 = raw::Socket::connect("127.0.0.1", port);
    iocpnet_conn c3 = srv.wait_accepted(2);
    REQUIRE(c3 != 0);
    CHECK(c3 != c1);
    CHECK(c3 != c2);
    CHECK_RC(iocpnet_send(sp, c3, "live", 4), IOCPNET_OK);
    std::string got;
    CHECK(p3.read_exact(&got, 4));
    CHECK(got == "live");
    check_dead(sp, c1);
    check_dead(sp, c2);

    // ids nobody was given
    check_dead(sp, 0x7fffffffffffff01ull);
    check_dead(sp, c3 ^ (1ull << 40));
    check_dead(sp, c3 + 0x100000000ull);
    // 0 is never valid (NOT_FOUND, or INVALID_ARG as an impossible id)
    int rc0 = iocpnet_send(sp, 0, "x", 1);
    CHECK((rc0 == IOCPNET_E_NOT_FOUND || rc0 == IOCPNET_E_INVALID_ARG));

    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

TEST_CASE("a listener id is dead after unlisten", "[stale][listener]") {
    Port sp(nullptr);
    iocpnet_listener l = 0;
    listen_on(sp, &l);
    REQUIRE_RC(iocpnet_unlisten(sp, l), IOCPNET_OK);
    uint16_t p = 0;
    CHECK_RC(iocpnet_listener_port(sp, l, &p), IOCPNET_E_NOT_FOUND);
    CHECK_RC(iocpnet_unlisten(sp, l), IOCPNET_E_NOT_FOUND);
    CHECK_RC(iocpnet_listener_port(sp, 0x7fffffff00000001ull, &p), IOCPNET_E_NOT_FOUND);
    CHECK_RC(iocpnet_unlisten(sp, 0x7fffffff00000001ull), IOCPNET_E_NOT_FOUND);
}

TEST_CASE("connection and listener ids are never reused within a port", "[stale]") {
    Recorder srv, cli;
    Port sp(&srv), cp(&cli);
    std::set<iocpnet_listener> lids;
    for (int i = 0; i < 50; i++) {
        iocpnet_listener l = 0;
        listen_on(sp, &l);
        CHECK(lids.insert(l).second);
        REQUIRE_RC(iocpnet_unlisten(sp, l), IOCPNET_OK);
    }
    iocpnet_listener l = 0;
    uint16_t port = listen_on(sp, &l);
    CHECK(lids.insert(l).second);

    // 300 connections opened and closed one after the other, so that every
    // slot is recycled many times
    std::set<iocpnet_conn> ids;
    for (int i = 0; i < 300; i++) {
        iocpnet_conn c = connect_to(cp, port);
        CHECK(ids.insert(c).second);
        REQUIRE(wait_until([&] { return cli.connect_status(c) != 1; }));
        iocpnet_conn s = srv.wait_accepted(static_cast<size_t>(i));
        REQUIRE(s != 0);
        REQUIRE_RC(iocpnet_close(cp, c, i % 2 ? IOCPNET_CLOSE_ABORT : IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
        REQUIRE(srv.wait_closed(s));
        REQUIRE(cli.wait_closed(c));
    }
    std::set<iocpnet_conn> server_ids, client_ids;
    for (auto c : srv.accepted()) CHECK(server_ids.insert(c).second);
    for (auto c : cli.connected()) CHECK(client_ids.insert(c).second);
    CHECK(server_ids.size() == 300);
    CHECK(client_ids.size() == 300);
    CHECK(server_ids.count(0) == 0);
    CHECK(client_ids.count(0) == 0);
    REQUIRE_RC(cp.destroy(), IOCPNET_OK);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
    check_clean(cli, true);
}
