// Requests that are not a valid upgrade get an HTTP error and a close, and
// the application hears nothing of them: malformed heads, a missing key, a
// wrong version (426), and a head over the 8 KiB bound.
#include "ws_peer.hpp"

using namespace t;

namespace {
std::string answer(uint16_t port, const std::string &req) {
    raw::Socket s = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(s.valid());
    REQUIRE(s.send_all(req));
    std::string got;
    raw::End e = s.read_until_end(&got);
    INFO("reply: " << got);
    CHECK(e == raw::End::eof);
    return got;
}
} // namespace

TEST_CASE("ws: a bad handshake gets 400 (or 426) and a close, without callbacks", "[ws]") {
    Recorder srv;
    Port sp(&srv);
    uint16_t port = wst::ws_listen(sp);
    const std::string ok = wst::upgrade_request();
    CHECK(answer(port, "garbage\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
    CHECK(answer(port, "GET / HTTP/1.1\r\nHost x\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
    std::string nokey = ok;
    nokey.replace(nokey.find("Sec-WebSocket-Key"), 3, "Sex");
    CHECK(answer(port, nokey).rfind("HTTP/1.1 400 ", 0) == 0);
    CHECK(answer(port, "POST /chat HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
    std::string v8 = ok;
    v8.replace(v8.find("Version: 13"), 11, "Version: 8 ");
    std::string r = answer(port, v8);
    CHECK(r.rfind("HTTP/1.1 426 ", 0) == 0);
    CHECK(r.find("Sec-WebSocket-Version: 13") != std::string::npos);
    // A head that never ends within 8 KiB.
    std::string huge = "GET /chat HTTP/1.1\r\nX-Pad: " + std::string(9000, 'a') + "\r\n\r\n";
    CHECK(answer(port, huge).rfind("HTTP/1.1 400 ", 0) == 0);
    // Still serving: a good upgrade works afterwards.
    wst::Peer peer;
    REQUIRE(peer.connect(port));
    CHECK(peer.upgrade());
    CHECK(srv.wait_accepted() != 0);
    CHECK(srv.n_accepted() == 1);
    CHECK(srv.n_closed() == 0);
    check_clean(srv);
}
