// A close frame from the peer is answered with the same code, the stream
// ends, and on_close reports IOCPNET_E_PEER_CLOSED.
#include "ws_peer.hpp"

using namespace t;

TEST_CASE("ws: a peer's close frame is answered and ends with PEER_CLOSED", "[ws]") {
    Recorder srv;
    Port sp(&srv);
    uint16_t port = wst::ws_listen(sp);
    wst::Peer peer;
    REQUIRE(peer.connect(port));
    REQUIRE(peer.upgrade());
    iocpnet_conn c = srv.wait_accepted();
    REQUIRE(c != 0);
    REQUIRE(peer.s.send_all(wst::frame(8, wst::close_payload(4001, "bye"))));
    wst::Frame f;
    REQUIRE(peer.read_until_close(&f));
    CHECK(f.close_code() == 4001);
    CHECK(peer.ends());
    REQUIRE(srv.wait_closed(c));
    CHECK(srv.close_reason(c) == IOCPNET_E_PEER_CLOSED);
    check_clean(srv);
}
