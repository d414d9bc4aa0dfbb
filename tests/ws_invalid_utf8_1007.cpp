// Text that is not UTF-8 closes with 1007, also when the bad byte is in a
// later fragment than the sequence's start, and when a message ends in the
// middle of a sequence. Binary messages are not checked.
#include "ws_peer.hpp"

using namespace t;

namespace {
void expect_1007(const std::string &frames) {
    Recorder srv;
    srv.keep_messages = true;
    Port sp(&srv);
    uint16_t port = wst::ws_listen(sp);
    wst::Peer peer;
    REQUIRE(peer.connect(port));
    REQUIRE(peer.upgrade());
    iocpnet_conn c = srv.wait_accepted();
    REQUIRE(c != 0);
    REQUIRE(peer.s.send_all(wst::frame(2, "\xff\xfe binary is not checked") + frames));
    wst::Frame f;
    REQUIRE(peer.read_until_close(&f));
    CHECK(f.close_code() == 1007);
    CHECK(peer.ends());
    REQUIRE(srv.wait_closed(c));
    CHECK(srv.close_reason(c) == IOCPNET_E_PROTOCOL);
    CHECK(srv.messages(c).size() == 1);
    check_clean(srv);
}
} // namespace

TEST_CASE("ws: invalid UTF-8 in text closes with 1007", "[ws]") {
    SECTION("a bad byte in one frame") { expect_1007(wst::frame(1, "ok \xC0\xAF overlong")); }
    SECTION("a sequence broken across fragments") {
        expect_1007(wst::frame(1, "a\xE2\x82", false) + wst::frame(0, "Z", true));
    }
    SECTION("a message ending inside a sequence") { expect_1007(wst::frame(1, "a\xE2\x82", true)); }
    SECTION("a surrogate") { expect_1007(wst::frame(1, "\xED\xA0\x80")); }
}
