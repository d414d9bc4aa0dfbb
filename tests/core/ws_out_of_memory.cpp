// A WebSocket session that cannot get memory for what the peer sends ends
// with IOCPNET_E_NO_MEMORY and a 1011 close; the allocation failure does not
// escape as an exception (on a worker it would abandon a completion halfway
// and leave the connection's slot for good).
//
// The failing allocations come from failing_new.hpp.
#include <catch2/catch.hpp>

#include <new>
#include <string>

#include "failing_new.hpp"
#include "ws/session.hpp"

namespace {
struct Quiet : iocpnet::ws::Events {
    size_t messages = 0, out = 0;
    bool ready() override { return true; }
    bool message(const uint8_t *, size_t) override { return ++messages, true; }
    void output(const uint8_t *, size_t n) override { out += n; }
    bool upgraded() override { return true; }
    void plain_get(const iocpnet::ws::HttpHead &, std::string *) override {}
    void end(int) override {}
};
} // namespace

TEST_CASE("a WebSocket message with no memory to gather it ends the session with NO_MEMORY and 1011", "[ws]") {
    using namespace iocpnet;
    ws::Session s(false, 64u << 20);
    Quiet ev;
    std::string up = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    size_t used = 0;
    REQUIRE(s.feed(reinterpret_cast<uint8_t *>(&up[0]), up.size(), ev, &used) == IOCPNET_OK);
    REQUIRE(s.open());
    REQUIRE(ev.out > 0); // the 101
    // The first MiB of a 4 MiB masked binary frame (mask key 0): the session
    // must gather it, and that allocation fails.
    std::string f;
    f += char(0x82);
    f += char(0x80 | 127);
    for (int i = 7; i >= 0; i--) f += char(((uint64_t(4) << 20) >> (8 * i)) & 0xFF);
    f.append(4, '\0');
    f.append(size_t(1) << 20, 'x');
    int rc = IOCPNET_OK;
    bool threw = false;
    {
        failing_new::Scope no_memory(64 * 1024);
        try {
            rc = s.feed(reinterpret_cast<uint8_t *>(&f[0]), f.size(), ev, &used);
        } catch (const std::bad_alloc &) {
            threw = true;
        }
    }
    CHECK_FALSE(threw);
    CHECK(rc == IOCPNET_E_NO_MEMORY);
    CHECK(used == f.size());
    CHECK(ev.messages == 0);
    std::string close = s.close_frame(rc);
    REQUIRE(close.size() == 4);
    CHECK(uint8_t(close[2]) == 0x03); // 1011: internal error
    CHECK(uint8_t(close[3]) == 0xF3);
    // It takes nothing more.
    std::string more("\x82\x80\0\0\0\0", 6); // an empty masked frame
    CHECK(s.feed(reinterpret_cast<uint8_t *>(&more[0]), more.size(), ev, &used) == IOCPNET_OK);
    CHECK(ev.messages == 0);
}
