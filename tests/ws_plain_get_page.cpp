// A plain GET on a WebSocket listener: a page registered with
// iocpnet_ws_add_page is served with its type (the query ignored), any
// other path gets 404; the connection closes after the reply and the
// application hears nothing of it. add_page refuses non-WebSocket listeners.
#include "ws_peer.hpp"

using namespace t;

namespace {
std::string get(uint16_t port, const std::string &path) {
    raw::Socket s = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(s.valid());
    REQUIRE(s.send_all("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string got;
    CHECK(s.read_until_end(&got) == raw::End::eof);
    return got;
}
} // namespace

TEST_CASE("ws: a plain GET is answered from the listener's pages", "[ws]") {
    Recorder srv;
    Port sp(&srv);
    iocpnet_listener l = 0;
    uint16_t port = wst::ws_listen(sp, &l);
    const std::string page = "<!doctype html><p>hi</p>";
    REQUIRE_RC(iocpnet_ws_add_page(sp, l, "/", "text/html; charset=utf-8", page.data(), page.size()), IOCPNET_OK);
    REQUIRE_RC(iocpnet_ws_add_page(sp, l, "/x", "text/plain", "old", 3), IOCPNET_OK);
    REQUIRE_RC(iocpnet_ws_add_page(sp, l, "/x", "text/plain", "new", 3), IOCPNET_OK);
    CHECK_RC(iocpnet_ws_add_page(sp, l, "nopath", "text/plain", "", 0), IOCPNET_E_INVALID_ARG);
    CHECK_RC(iocpnet_ws_add_page(sp, 999999, "/", "text/plain", "", 0), IOCPNET_E_NOT_FOUND);
    iocpnet_listener plain = 0;
    listen_on(sp, &plain);
    CHECK_RC(iocpnet_ws_add_page(sp, plain, "/", "text/plain", "", 0), IOCPNET_E_INVALID_ARG);

    std::string r = get(port, "/?nick=a");
    INFO(r);
    CHECK(r.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(r.find("Content-Type: text/html; charset=utf-8\r\n") != std::string::npos);
    CHECK(r.find("Content-Length: " + std::to_string(page.size()) + "\r\n") != std::string::npos);
    CHECK(r.substr(r.size() - page.size()) == page);
    std::string x = get(port, "/x");
    CHECK(x.substr(x.size() - 3) == "new");
    CHECK(get(port, "/missing").rfind("HTTP/1.1 404 ", 0) == 0);
    CHECK(srv.n_accepted() == 0);
    CHECK(srv.n_closed() == 0);
    check_clean(srv);
}
