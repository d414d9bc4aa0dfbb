// The server unmasks client frames eight bytes at a time, in place when a
// frame arrived whole and into the message buffer (with the key turned to
// the frame offset) when it arrived in parts. Every payload length from 0
// to 40 (every tail length and key phase), the 7-, 16- and 64-bit length
// boundaries, sent once back to back in one write and once cut into random
// small pieces, must come back exactly, in order.
#include "ws_peer.hpp"

using namespace t;

namespace {
std::vector<std::string> payloads() {
    std::vector<std::string> out;
    uint32_t seed = 1;
    for (size_t n : {size_t(0), size_t(1), size_t(2), size_t(3), size_t(4), size_t(5), size_t(6), size_t(7),
                     size_t(8), size_t(9), size_t(15), size_t(16), size_t(17), size_t(31), size_t(40), size_t(125),
                     size_t(126), size_t(127), size_t(65535), size_t(65536), size_t(65541)})
        out.push_back(random_bytes(n, seed++));
    for (size_t n = 10; n < 40; n++)
        if (n != 15 && n != 16 && n != 17 && n != 31) out.push_back(random_bytes(n, seed++));
    return out;
}

void round_trip(bool split) {
    Recorder srv;
    make_echo(srv);
    Port sp(&srv);
    uint16_t port = wst::ws_listen(sp);
    wst::Peer peer;
    REQUIRE(peer.connect(port));
    REQUIRE(peer.upgrade());
    REQUIRE(srv.wait_accepted() != 0);
    std::vector<std::string> msgs = payloads();
    std::string wire;
    for (auto &m : msgs) wire += wst::frame(2, m); // masked, key 0x37fa213d
    if (!split) {
        REQUIRE(peer.s.send_all(wire));
    } else {
        peer.s.set_nodelay(true);
        std::mt19937 rng(42);
        for (size_t at = 0; at < wire.size();) {
            // mostly tiny pieces (every header and key phase cut), some large ones
            size_t piece = rng() % 4 ? 1 + rng() % 23 : 1 + rng() % 20000;
            size_t n = std::min(wire.size() - at, piece);
            REQUIRE(peer.s.send_all(wire.data() + at, n));
            at += n;
            if (rng() % 32 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1)); // separate reads
        }
    }
    for (size_t i = 0; i < msgs.size(); i++) {
        wst::Frame f;
        REQUIRE(peer.read_frame(&f));
        INFO("message " << i << " of " << msgs[i].size() << " bytes");
        CHECK(f.op == 2);
        CHECK(f.payload.size() == msgs[i].size());
        CHECK(f.payload == msgs[i]);
    }
    check_clean(srv);
}
} // namespace

TEST_CASE("ws: masked frames of every length, back to back in one write", "[ws]") { round_trip(false); }

TEST_CASE("ws: masked frames of every length, cut into small pieces", "[ws]") { round_trip(true); }
