// A WebSocket upgrade: the 101 carries RFC 6455's accept key, on_accept
// comes only after it, the request's path and headers are readable from
// on_accept, and messages of both types round-trip with their type.
#include "ws_peer.hpp"

using namespace t;

TEST_CASE("ws: upgrade, on_accept after it, path and headers, text and binary echo", "[ws]") {
    Recorder srv;
    srv.keep_messages = true;
    std::mutex mu;
    std::string path, origin;
    int header_missing = 1;
    srv.on_accept = [&](iocpnet_port *p, iocpnet_listener, iocpnet_conn c) {
        char buf[256];
        std::lock_guard<std::mutex> lk(mu);
        if (iocpnet_ws_request_path(p, c, buf, sizeof buf) == IOCPNET_OK) path = buf;
        if (iocpnet_ws_request_header(p, c, "origin", buf, sizeof buf) == IOCPNET_OK) origin = buf;
        header_missing = iocpnet_ws_request_header(p, c, "X-Not-There", buf, sizeof buf);
        char tiny[4];
        if (iocpnet_ws_request_path(p, c, tiny, sizeof tiny) != IOCPNET_E_LIMIT) srv.fail("a short buffer is not LIMIT");
    };
    srv.on_data = [&](iocpnet_port *p, iocpnet_conn c, const uint8_t *d, size_t n) {
        uint32_t type = 0;
        if (iocpnet_ws_message_type(p, c, &type) != IOCPNET_OK) srv.fail("message_type failed");
        iocpnet_ws_set_send_type(p, c, type); // echo with the type it came with
        if (iocpnet_send(p, c, d, n) != IOCPNET_OK) srv.fail("echo failed");
    };
    Port sp(&srv);
    uint16_t port = wst::ws_listen(sp);

    wst::Peer peer;
    REQUIRE(peer.connect(port));
    // Half a request: no on_accept yet.
    std::string req = wst::upgrade_request("/chat?room=1", "Origin: http://example.test\r\n");
    REQUIRE(peer.s.send_all(req.substr(0, 40)));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(srv.n_accepted() == 0);
    REQUIRE(peer.s.send_all(req.substr(40)));
    std::string head;
    REQUIRE(peer.read_head(&head));
    INFO(head);
    CHECK(head.rfind("HTTP/1.1 101 ", 0) == 0);
    CHECK(head.find(std::string("Sec-WebSocket-Accept: ") + wst::kAccept + "\r\n") != std::string::npos);
    iocpnet_conn c = srv.wait_accepted();
    REQUIRE(c != 0);
    {
        std::lock_guard<std::mutex> lk(mu);
        CHECK(path == "/chat?room=1");
        CHECK(origin == "http://example.test");
        CHECK(header_missing == IOCPNET_E_NOT_FOUND);
    }

    std::string big = random_bytes(70000, 7); // a 64-bit length
    REQUIRE(peer.s.send_all(wst::frame(1, "héllo") + wst::frame(2, std::string("\0\1\2", 3)) + wst::frame(2, big) +
                            wst::frame(1, "")));
    wst::Frame f;
    REQUIRE(peer.read_frame(&f));
    CHECK(f.op == 1);
    CHECK(f.fin);
    CHECK_FALSE(f.masked); // servers never mask
    CHECK(f.payload == "héllo");
    REQUIRE(peer.read_frame(&f));
    CHECK(f.op == 2);
    CHECK(f.payload == std::string("\0\1\2", 3));
    REQUIRE(peer.read_frame(&f));
    CHECK(f.op == 2);
    CHECK(f.payload == big);
    REQUIRE(peer.read_frame(&f));
    CHECK(f.op == 1);
    CHECK(f.payload.empty());
    auto msgs = srv.messages(c);
    REQUIRE(msgs.size() == 4);
    CHECK(msgs[0] == "héllo");
    CHECK(msgs[3].empty());
    check_clean(srv);
}
