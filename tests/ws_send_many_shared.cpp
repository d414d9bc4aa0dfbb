// send_many to WebSocket connections: every receiver gets the payload as one
// frame of its own send type, and a LINE connection in the same call gets
// its line: one shared payload, each framing's header beside it.
#include "ws_peer.hpp"

using namespace t;

TEST_CASE("ws: send_many frames one shared payload for every receiver", "[ws]") {
    Recorder srv;
    Port sp(&srv);
    uint16_t port = wst::ws_listen(sp);
    iocpnet_conn_options lo = default_options();
    lo.framing = IOCPNET_FRAMING_LINE;
    uint16_t lport = listen_on(sp, nullptr, "127.0.0.1", &lo);
    wst::Peer peers[3];
    for (auto &p : peers) {
        REQUIRE(p.connect(port));
        REQUIRE(p.upgrade());
    }
    raw::Socket line = raw::Socket::connect("127.0.0.1", lport);
    REQUIRE(line.valid());
    REQUIRE(wait_until([&] { return srv.n_accepted() == 4; }));
    auto ids = srv.accepted();
    REQUIRE_RC(iocpnet_ws_set_send_type(sp, ids[0], IOCPNET_WS_TEXT), IOCPNET_OK);
    std::string payload = pattern(0, 5000); // above the sharing threshold
    for (char &ch : payload) ch = char('a' + (uint8_t(ch) % 26));
    int results[4] = {1, 1, 1, 1};
    size_t queued = 0;
    REQUIRE_RC(iocpnet_send_many_ex(sp, ids.data(), ids.size(), payload.data(), payload.size(), results, &queued),
               IOCPNET_OK);
    CHECK(queued == 4);
    int text = 0, binary = 0;
    for (auto &p : peers) {
        wst::Frame f;
        REQUIRE(p.read_frame(&f));
        CHECK(f.payload == payload);
        CHECK_FALSE(f.masked);
        (f.op == 1 ? text : binary)++;
    }
    CHECK(text == 1);
    CHECK(binary == 2);
    std::string got;
    REQUIRE(line.read_exact(&got, payload.size() + 1));
    CHECK(got == payload + "\n");
    check_clean(srv);
}
