// The WebSocket opening handshake has a deadline of its own: the connect
// timeout (connect_timeout_ms, or 10 s when it is 0), as a TLS handshake
// has. Without it a peer that connects and sends half a request, or
// nothing, would hold a connection slot for good unless idle_timeout is
// set. A server drops such a peer without any callback; a client whose
// server never answers the upgrade gets on_connect(TIMEOUT). A handshake
// that finishes in time is not touched by the deadline afterwards.
#include "ws_peer.hpp"

using namespace t;

namespace {
iocpnet_config with_connect_timeout(uint32_t ms) {
    iocpnet_config c = default_config();
    c.connect_timeout_ms = ms;
    return c;
}
} // namespace

TEST_CASE("ws: peers that stall in the upgrade are dropped at the connect timeout", "[ws]") {
    Recorder srv;
    iocpnet_config cfg = with_connect_timeout(300);
    Port sp(&srv, &cfg);
    uint16_t port = wst::ws_listen(sp);
    raw::Socket half = raw::Socket::connect("127.0.0.1", port);
    raw::Socket silent = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(half.valid());
    REQUIRE(silent.valid());
    auto t0 = std::chrono::steady_clock::now();
    std::string req = wst::upgrade_request();
    REQUIRE(half.send_all(req.substr(0, req.size() / 2))); // and then nothing more
    std::string got_half, got_silent;
    raw::End e1 = half.read_until_end(&got_half, kDeadline);
    raw::End e2 = silent.read_until_end(&got_silent, kDeadline);
    double took = seconds_since(t0);
    INFO("ends: " << raw::end_name(e1) << ", " << raw::end_name(e2) << " after " << took << " s");
    CHECK((e1 == raw::End::eof || e1 == raw::End::reset)); // not a timeout of ours: the engine ended them
    CHECK((e2 == raw::End::eof || e2 == raw::End::reset));
    CHECK(got_half.empty()); // no 101, no 400: dropped
    CHECK(got_silent.empty());
    CHECK(took >= 0.2);      // at the deadline, not at once
    REQUIRE(wait_until([&] { return stats(sp).connections_open == 0; })); // the slots are free again
    CHECK(srv.n_accepted() == 0); // the user never heard of them
    CHECK(srv.n_closed() == 0);
    check_clean(srv);
}

TEST_CASE("ws: an upgrade that finishes in time outlives the deadline", "[ws]") {
    Recorder srv;
    srv.keep_messages = true;
    make_echo(srv);
    iocpnet_config cfg = with_connect_timeout(300);
    Port sp(&srv, &cfg);
    uint16_t port = wst::ws_listen(sp);
    wst::Peer peer;
    REQUIRE(peer.connect(port));
    std::string req = wst::upgrade_request();
    REQUIRE(peer.s.send_all(req.substr(0, 20)));
    std::this_thread::sleep_for(std::chrono::milliseconds(100)); // slow, but within the deadline
    REQUIRE(peer.s.send_all(req.substr(20)));
    std::string head;
    REQUIRE(peer.read_head(&head));
    CHECK(head.rfind("HTTP/1.1 101 ", 0) == 0);
    iocpnet_conn c = srv.wait_accepted();
    REQUIRE(c != 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(700)); // well past the deadline
    REQUIRE(peer.s.send_all(wst::frame(2, "still here")));
    wst::Frame f;
    REQUIRE(peer.read_frame(&f));
    CHECK(f.op == 2);
    CHECK(f.payload == "still here");
    CHECK(srv.closes(c) == 0);
    check_clean(srv);
}

TEST_CASE("ws: a client whose server never answers the upgrade gets on_connect(TIMEOUT)", "[ws]") {
    Recorder cli;
    iocpnet_config cfg = with_connect_timeout(300);
    Port cp(&cli, &cfg);
    raw::Socket lst = raw::Socket::listen("127.0.0.1", 0);
    REQUIRE(lst.valid());
    iocpnet_conn_options o = wst::ws_options();
    iocpnet_conn c = connect_to(cp, lst.local_port(), "127.0.0.1", &o);
    raw::Socket s = lst.accept();
    REQUIRE(s.valid());
    char buf[4096];
    REQUIRE(s.recv_some(buf, sizeof buf, 30000) > 0); // the request came; it is never answered
    REQUIRE(wait_until([&] { return cli.n_connect_failed() == 1; }));
    CHECK(cli.connect_status(c) == IOCPNET_E_TIMEOUT);
    CHECK(cli.closes(c) == 0);
    std::string rest;
    raw::End e = s.read_until_end(&rest, kDeadline);
    CHECK((e == raw::End::eof || e == raw::End::reset)); // the engine let go of the socket
    CHECK(rest.empty());
    check_clean(cli);
}
