// Half-close: shutdown_write sends the FIN after everything queued and keeps
// receiving; with half_open the peer's FIN is reported by on_peer_shutdown
// instead of closing, and the connection closes once both directions are done.
#include "support.hpp"

using namespace t;

TEST_CASE("shutdown_write: the queue goes out, then EOF; receiving goes on; later sends are refused", "[halfclose]") {
    Recorder srv;
    Port sp(&srv);
    Accepted acc = accept_raw(srv, sp);
    raw::Socket &peer = acc.peer;
    const iocpnet_conn s = acc.conn;
    std::string reply = pattern(0, 1 << 20);
    REQUIRE_RC(iocpnet_send(sp, s, reply.data(), reply.size()), IOCPNET_OK);
    REQUIRE_RC(iocpnet_shutdown_write(sp, s), IOCPNET_OK);
    CHECK_RC(iocpnet_shutdown_write(sp, s), IOCPNET_OK); // idempotent
    CHECK_RC(iocpnet_send(sp, s, "late", 4), IOCPNET_E_WRITE_SHUTDOWN);
    iocpnet_buf b{"late", 4};
    CHECK_RC(iocpnet_sendv(sp, s, &b, 1), IOCPNET_E_WRITE_SHUTDOWN);
    int res = 1;
    size_t queued = 9;
    CHECK_RC(iocpnet_send_many_ex(sp, &s, 1, "late", 4, &res, &queued), IOCPNET_OK);
    CHECK(rc_name(res) == rc_name(IOCPNET_E_WRITE_SHUTDOWN));
    CHECK(queued == 0);
    std::string got;
    CHECK(peer.read_until_end(&got) == raw::End::eof); // every byte, then the FIN
    CHECK(got == reply);
    REQUIRE(peer.send_all("still listening?"));
    CHECK(srv.wait_bytes(s, 16));
    CHECK(srv.data(s) == "still listening?");
    CHECK_FALSE(srv.is_closed(s));
    peer.shutdown_write();
    REQUIRE(srv.wait_closed(s));
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_PEER_CLOSED));
    CHECK(srv.peer_shutdowns(s) == 0); // not half_open
    check_clean(srv);
}

TEST_CASE("half_open: request, FIN, then the reply, then both FINs close the connection", "[halfclose]") {
    Recorder srv;
    std::atomic<int> reply_rc{1};
    srv.on_peer_shutdown = [&](iocpnet_port *p, iocpnet_conn c) {
        // the whole request is in: answer it and finish our side
        std::string req = srv.data(c);
        std::string ans = "got " + std::to_string(req.size()) + " bytes";
        int rc = iocpnet_send(p, c, ans.data(), ans.size());
        if (rc == IOCPNET_OK) rc = iocpnet_shutdown_write(p, c);
        reply_rc = rc;
    };
    Port sp(&srv);
    iocpnet_conn_options o = default_options();
    o.half_open = 1;
    Accepted acc = accept_raw(srv, sp, &o);
    raw::Socket &peer = acc.peer;
    const iocpnet_conn s = acc.conn;
    std::string req = pattern(5, 200000);
    REQUIRE(peer.send_all(req));
    peer.shutdown_write();
    std::string got;
    CHECK(peer.read_until_end(&got) == raw::End::eof);
    CHECK(got == "got 200000 bytes");
    // The reply and the FIN may leave inside the callback (an inline write),
    // before it stores the result.
    CHECK(wait_until([&] { return reply_rc.load() != 1; }));
    CHECK(rc_name(reply_rc.load()) == rc_name(IOCPNET_OK));
    REQUIRE(srv.wait_closed(s));
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_PEER_CLOSED));
    CHECK(srv.peer_shutdowns(s) == 1);
    auto ev = srv.events(s);
    REQUIRE(ev.size() >= 3);
    CHECK(ev[ev.size() - 2].type == Ev::peer_shutdown); // after every on_data
    check_clean(srv);
}

TEST_CASE("half_open: our FIN first, then the peer's closes the connection", "[halfclose]") {
    Recorder srv;
    Port sp(&srv);
    iocpnet_conn_options o = default_options();
    o.half_open = 1;
    Accepted acc = accept_raw(srv, sp, &o);
    raw::Socket &peer = acc.peer;
    const iocpnet_conn s = acc.conn;
    REQUIRE_RC(iocpnet_shutdown_write(sp, s), IOCPNET_OK);
    std::string got;
    CHECK(peer.read_until_end(&got, 10) == raw::End::eof);
    REQUIRE(peer.send_all("after your FIN"));
    REQUIRE(srv.wait_bytes(s, 14));
    CHECK_FALSE(srv.is_closed(s));
    peer.shutdown_write();
    REQUIRE(srv.wait_closed(s));
    CHECK(srv.peer_shutdowns(s) == 1);
    CHECK(rc_name(srv.close_reason(s)) == rc_name(IOCPNET_E_PEER_CLOSED));
    check_clean(srv);
}

TEST_CASE("half_open on an outgoing connection: the peer's FIN leaves it open for sending", "[halfclose]") {
    Recorder cli;
    Port cp(&cli);
    raw::Socket lis = raw::Socket::listen("127.0.0.1", 0);
    REQUIRE(lis.valid());
    iocpnet_conn_options o = default_options();
    o.half_open = 1;
    iocpnet_conn c = connect_to(cp, lis.local_port(), "127.0.0.1", &o);
    raw::Socket peer = lis.accept();
    REQUIRE(peer.valid());
    REQUIRE(wait_until([&] { return cli.n_connected() == 1; }));
    peer.shutdown_write();
    REQUIRE(wait_until([&] { return cli.peer_shutdowns(c) == 1; }));
    REQUIRE_RC(iocpnet_send(cp, c, "reply", 5), IOCPNET_OK);
    std::string got;
    CHECK(peer.read_exact(&got, 5));
    CHECK(got == "reply");
    CHECK_FALSE(cli.is_closed(c));
    REQUIRE_RC(iocpnet_close(cp, c, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    REQUIRE(cli.wait_closed(c));
    CHECK(rc_name(cli.close_reason(c)) == rc_name(IOCPNET_OK));
    check_clean(cli);
}

TEST_CASE("half_open accepts only 0 or 1; shutdown_write of unknown ids is NOT_FOUND", "[halfclose][args]") {
    Recorder srv;
    Port sp(&srv);
    iocpnet_conn_options o = default_options();
    CHECK(o.half_open == 0);
    o.half_open = 2;
    iocpnet_listener l = 0;
    CHECK_RC(iocpnet_listen_ex(sp, "127.0.0.1", 0, &o, &l), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_shutdown_write(nullptr, 1), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_shutdown_write(sp, 77), IOCPNET_E_NOT_FOUND);
}
