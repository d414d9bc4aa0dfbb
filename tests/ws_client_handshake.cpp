// connect_ex with WEBSOCKET framing: the Upgrade request carries ws_host and
// ws_path and a fresh key; on_connect(OK) waits for a 101 with the right
// accept key; the client masks its frames (the payload copied); a masked
// frame from the server closes with 1002. A refused upgrade gives
// on_connect(PROTOCOL) and no on_close.
#include "ws_peer.hpp"
#include "ws/sha1.hpp" // the accept key for the test's server (checked against RFC 6455 by ws_upgrade_and_echo)

using namespace t;

namespace {
std::string header(const std::string &head, const std::string &name) {
    size_t at = head.find("\r\n" + name + ": ");
    if (at == std::string::npos) return "";
    at += name.size() + 4;
    return head.substr(at, head.find("\r\n", at) - at);
}
} // namespace

TEST_CASE("ws: the client side handshakes, masks, and refuses a masked server frame", "[ws]") {
    Recorder cli;
    cli.keep_messages = true;
    Port cp(&cli);
    raw::Socket lst = raw::Socket::listen("127.0.0.1", 0);
    REQUIRE(lst.valid());
    iocpnet_conn_options o = wst::ws_options();
    o.ws_host = "example.test:8080";
    o.ws_path = "/feed?x=1";
    iocpnet_conn c = connect_to(cp, lst.local_port(), "127.0.0.1", &o);
    REQUIRE_RC(iocpnet_ws_set_send_type(cp, c, IOCPNET_WS_TEXT), IOCPNET_OK);
    REQUIRE_RC(iocpnet_send(cp, c, "early", 5), IOCPNET_OK); // queued behind the request
    wst::Peer srv;
    srv.s = lst.accept();
    REQUIRE(srv.s.valid());
    std::string head;
    REQUIRE(srv.read_head(&head));
    INFO(head);
    CHECK(head.rfind("GET /feed?x=1 HTTP/1.1\r\n", 0) == 0);
    CHECK(header(head, "Host") == "example.test:8080");
    CHECK(header(head, "Sec-WebSocket-Version") == "13");
    std::string key = header(head, "Sec-WebSocket-Key");
    CHECK(key.size() == 24);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(cli.n_connected() == 0); // not before the 101
    REQUIRE(srv.s.send_all("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: " + iocpnet::ws::accept_key(key) + "\r\n\r\n"));
    REQUIRE(wait_until([&] { return cli.n_connected() == 1; }));
    wst::Frame f;
    REQUIRE(srv.read_frame(&f));
    CHECK(f.masked);
    CHECK(f.op == 1);
    CHECK(f.payload == "early");
    std::string big = random_bytes(200000, 3);
    REQUIRE_RC(iocpnet_ws_set_send_type(cp, c, IOCPNET_WS_BINARY), IOCPNET_OK);
    REQUIRE_RC(iocpnet_send(cp, c, big.data(), big.size()), IOCPNET_OK);
    REQUIRE(srv.read_frame(&f));
    CHECK(f.masked);
    CHECK(f.op == 2);
    CHECK(f.payload == big);
    REQUIRE(srv.s.send_all(wst::frame(1, "from server", true, false)));
    REQUIRE(wait_until([&] { return cli.messages(c).size() == 1; }));
    CHECK(cli.messages(c)[0] == "from server");
    REQUIRE(srv.s.send_all(wst::frame(1, "masked", true, true)));
    REQUIRE(srv.read_until_close(&f));
    CHECK(f.masked);
    CHECK(f.close_code() == 1002);
    REQUIRE(cli.wait_closed(c));
    CHECK(cli.close_reason(c) == IOCPNET_E_PROTOCOL);
    check_clean(cli);
}

TEST_CASE("ws: a refused upgrade gives on_connect(PROTOCOL) and no on_close", "[ws]") {
    Recorder cli;
    Port cp(&cli);
    raw::Socket lst = raw::Socket::listen("127.0.0.1", 0);
    REQUIRE(lst.valid());
    iocpnet_conn_options o = wst::ws_options();
    iocpnet_conn c = connect_to(cp, lst.local_port(), "127.0.0.1", &o);
    raw::Socket s = lst.accept();
    REQUIRE(s.valid());
    std::string got;
    char buf[4096];
    while (got.find("\r\n\r\n") == std::string::npos) {
        long n = s.recv_some(buf, sizeof buf, 30000);
        REQUIRE(n > 0);
        got.append(buf, size_t(n));
    }
    CHECK(got.find("\r\nHost: 127.0.0.1:" + std::to_string(lst.local_port()) + "\r\n") != std::string::npos);
    CHECK(got.rfind("GET / HTTP/1.1\r\n", 0) == 0);
    REQUIRE(s.send_all("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"));
    REQUIRE(wait_until([&] { return cli.n_connect_failed() == 1; }));
    CHECK(cli.connect_status(c) == IOCPNET_E_PROTOCOL);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(cli.closes(c) == 0);
    check_clean(cli);
}
