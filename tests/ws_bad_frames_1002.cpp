// Frames that break RFC 6455 section 5 close with 1002 and
// on_close(PROTOCOL): reserved bits, reserved opcodes, fragmented or long
// control frames, continuation without a start, a new message inside a
// fragmented one, bad close payloads.
#include "ws_peer.hpp"

using namespace t;

namespace {
void expect_1002(const std::string &bad) {
    Recorder srv;
    Port sp(&srv);
    uint16_t port = wst::ws_listen(sp);
    wst::Peer peer;
    REQUIRE(peer.connect(port));
    REQUIRE(peer.upgrade());
    iocpnet_conn c = srv.wait_accepted();
    REQUIRE(c != 0);
    REQUIRE(peer.s.send_all(bad));
    wst::Frame f;
    REQUIRE(peer.read_until_close(&f));
    CHECK(f.close_code() == 1002);
    CHECK(peer.ends());
    REQUIRE(srv.wait_closed(c));
    CHECK(srv.close_reason(c) == IOCPNET_E_PROTOCOL);
    check_clean(srv);
}
} // namespace

TEST_CASE("ws: protocol violations close with 1002", "[ws]") {
    SECTION("RSV1 set without an extension") { expect_1002(wst::frame(1, "x", true, true, 4)); }
    SECTION("reserved data opcode 3") { expect_1002(wst::frame(3, "x")); }
    SECTION("reserved control opcode 11") { expect_1002(wst::frame(11, "")); }
    SECTION("a fragmented ping") { expect_1002(wst::frame(9, "x", false)); }
    SECTION("a ping of 126 bytes") { expect_1002(wst::frame(9, std::string(126, 'p'))); }
    SECTION("a continuation with no message started") { expect_1002(wst::frame(0, "x")); }
    SECTION("a new message inside a fragmented one") { expect_1002(wst::frame(1, "a", false) + wst::frame(1, "b")); }
    SECTION("a close with a 1-byte payload") { expect_1002(wst::frame(8, "x")); }
    SECTION("a close with code 1005") { expect_1002(wst::frame(8, wst::close_payload(1005))); }
}
