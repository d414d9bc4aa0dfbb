// A client frame without a mask breaks RFC 6455 5.1: on_framing_error
// (PROTOCOL), a close frame 1002, the end of the stream, on_close(PROTOCOL).
#include "ws_peer.hpp"

using namespace t;

TEST_CASE("ws: an unmasked client frame closes with 1002", "[ws]") {
    Recorder srv;
    srv.keep_messages = true;
    Port sp(&srv);
    uint16_t port = wst::ws_listen(sp);
    wst::Peer peer;
    REQUIRE(peer.connect(port));
    REQUIRE(peer.upgrade());
    iocpnet_conn c = srv.wait_accepted();
    REQUIRE(c != 0);
    REQUIRE(peer.s.send_all(wst::frame(1, "fine") + wst::frame(1, "naked", true, false)));
    wst::Frame f;
    REQUIRE(peer.read_until_close(&f));
    CHECK(f.close_code() == 1002);
    CHECK(peer.ends());
    REQUIRE(srv.wait_closed(c));
    REQUIRE(srv.messages(c).size() == 1); // the frame before the bad one was delivered
    CHECK(srv.messages(c)[0] == "fine");
    CHECK(srv.close_reason(c) == IOCPNET_E_PROTOCOL);
    auto ev = srv.events(c);
    REQUIRE(ev.size() >= 2);
    CHECK(ev[ev.size() - 2].type == Ev::framing_error);
    CHECK(ev[ev.size() - 2].status == IOCPNET_E_PROTOCOL);
    check_clean(srv);
}
