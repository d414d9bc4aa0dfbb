// Fragments are reassembled into one on_data, and a ping between them is
// answered at once with a pong carrying its payload; a pong is ignored.
#include "ws_peer.hpp"

using namespace t;

TEST_CASE("ws: fragments make one message; a ping in between gets its pong", "[ws]") {
    Recorder srv;
    srv.keep_messages = true;
    make_echo(srv);
    Port sp(&srv);
    uint16_t port = wst::ws_listen(sp);
    wst::Peer peer;
    REQUIRE(peer.connect(port));
    REQUIRE(peer.upgrade());
    iocpnet_conn c = srv.wait_accepted();
    REQUIRE(c != 0);
    std::string euro = "\xE2\x82\xAC"; // a UTF-8 sequence split across fragments
    REQUIRE(peer.s.send_all(wst::frame(1, "he" + euro.substr(0, 1), false) + wst::frame(9, "are you there?") +
                            wst::frame(10, "unsolicited") + wst::frame(0, euro.substr(1), false) +
                            wst::frame(0, "llo", true)));
    wst::Frame f;
    REQUIRE(peer.read_frame(&f));
    CHECK(f.op == 10);
    CHECK(f.payload == "are you there?");
    REQUIRE(peer.read_frame(&f));
    CHECK(f.op == 2); // the echo: sends are binary unless set to text
    CHECK(f.payload == "he" + euro + "llo");
    auto msgs = srv.messages(c);
    REQUIRE(msgs.size() == 1);
    CHECK(msgs[0] == "he" + euro + "llo");
    check_clean(srv);
}
