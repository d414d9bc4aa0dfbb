// max_message_size bounds the reassembled message, not the frame: fragments
// that add up past it give on_framing_error(MESSAGE_TOO_LARGE) while the
// connection is open (a reply sent from it arrives), then close 1009 and
// on_close(MESSAGE_TOO_LARGE). A huge announced length is refused at once.
#include "ws_peer.hpp"

using namespace t;

namespace {
void expect_1009(const std::string &frames) {
    Recorder srv;
    srv.on_framing_error = [&](iocpnet_port *p, iocpnet_conn c, int err) {
        if (err != IOCPNET_E_MESSAGE_TOO_LARGE) srv.fail("on_framing_error with " + rc_name(err));
        if (iocpnet_send(p, c, "too big", 7) != IOCPNET_OK) srv.fail("last reply refused");
    };
    Port sp(&srv);
    uint16_t port = wst::ws_listen(sp, nullptr, 1024);
    wst::Peer peer;
    REQUIRE(peer.connect(port));
    REQUIRE(peer.upgrade());
    iocpnet_conn c = srv.wait_accepted();
    REQUIRE(c != 0);
    REQUIRE(peer.s.send_all(wst::frame(2, std::string(1024, 'x')) + frames));
    std::vector<wst::Frame> before;
    wst::Frame f;
    REQUIRE(peer.read_until_close(&f, &before));
    REQUIRE(before.size() == 1);
    CHECK(before[0].payload == "too big");
    CHECK(f.close_code() == 1009);
    CHECK(peer.ends());
    REQUIRE(srv.wait_closed(c));
    CHECK(srv.close_reason(c) == IOCPNET_E_MESSAGE_TOO_LARGE);
    CHECK(srv.bytes(c) == 1024); // the message at the limit was delivered
    check_clean(srv);
}
} // namespace

TEST_CASE("ws: a message over max_message_size closes with 1009 after on_framing_error", "[ws]") {
    SECTION("fragments adding up past the limit") {
        expect_1009(wst::frame(2, std::string(600, 'a'), false) + wst::frame(0, std::string(600, 'b'), true));
    }
    SECTION("a 2^62-byte length announced") {
        std::string h = "\x82\xFF";
        h += std::string("\x40\0\0\0\0\0\0\0", 8);
        h += "abcd";
        expect_1009(h);
    }
}
