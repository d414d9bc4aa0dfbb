// iocpnet_close on a WebSocket connection sends what was queued, then a
// close frame (1000), then ends the stream; on_close(IOCPNET_OK).
#include "ws_peer.hpp"

using namespace t;

TEST_CASE("ws: iocpnet_close sends a close frame after the queued messages", "[ws]") {
    Recorder srv;
    Port sp(&srv);
    uint16_t port = wst::ws_listen(sp);
    wst::Peer peer;
    REQUIRE(peer.connect(port));
    REQUIRE(peer.upgrade());
    iocpnet_conn c = srv.wait_accepted();
    REQUIRE(c != 0);
    REQUIRE_RC(iocpnet_ws_set_send_type(sp, c, IOCPNET_WS_TEXT), IOCPNET_OK);
    CHECK_RC(iocpnet_ws_set_send_type(sp, c, 7), IOCPNET_E_INVALID_ARG);
    REQUIRE_RC(iocpnet_send(sp, c, "last words", 10), IOCPNET_OK);
    REQUIRE_RC(iocpnet_close(sp, c, IOCPNET_CLOSE_GRACEFUL), IOCPNET_OK);
    std::vector<wst::Frame> before;
    wst::Frame f;
    REQUIRE(peer.read_until_close(&f, &before));
    REQUIRE(before.size() == 1);
    CHECK(before[0].op == 1);
    CHECK(before[0].payload == "last words");
    CHECK(f.close_code() == 1000);
    REQUIRE(peer.s.send_all(wst::frame(8, wst::close_payload(1000))));
    CHECK(peer.ends());
    REQUIRE(srv.wait_closed(c));
    CHECK(srv.close_reason(c) == IOCPNET_OK);
    check_clean(srv);
}
