// pause_recv on a WebSocket connection: no message after the pause (frames
// already read are held, a ping among them waits too), and resume delivers
// them in order, a fragmented message whole, then answers the ping.
#include "ws_peer.hpp"

using namespace t;

TEST_CASE("ws: pause holds frames, resume delivers them in order", "[ws]") {
    Recorder srv;
    srv.keep_messages = true;
    std::atomic<int> seen{0};
    srv.on_data = [&](iocpnet_port *p, iocpnet_conn c, const uint8_t *, size_t) {
        if (seen++ == 0 && iocpnet_pause_recv(p, c) != IOCPNET_OK) srv.fail("pause failed");
    };
    Port sp(&srv);
    uint16_t port = wst::ws_listen(sp);
    wst::Peer peer;
    REQUIRE(peer.connect(port));
    REQUIRE(peer.upgrade());
    iocpnet_conn c = srv.wait_accepted();
    REQUIRE(c != 0);
    REQUIRE(peer.s.send_all(wst::frame(1, "one") + wst::frame(1, "two") + wst::frame(9, "ping?") +
                            wst::frame(2, "thr", false) + wst::frame(0, "ee", true)));
    REQUIRE(wait_until([&] { return seen.load() >= 1; }));
    wst::Frame f;
    CHECK_FALSE(peer.read_frame(&f, 0.3)); // the ping waits behind "two"
    CHECK(srv.messages(c).size() == 1);
    REQUIRE_RC(iocpnet_resume_recv(sp, c), IOCPNET_OK);
    REQUIRE(peer.read_frame(&f));
    CHECK(f.op == 10);
    CHECK(f.payload == "ping?");
    REQUIRE(wait_until([&] { return srv.messages(c).size() == 3; }));
    auto m = srv.messages(c);
    CHECK(m[0] == "one");
    CHECK(m[1] == "two");
    CHECK(m[2] == "three");
    check_clean(srv);
}
