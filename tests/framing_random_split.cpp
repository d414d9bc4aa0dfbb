// The decoders against a reference: random message streams, cut at random
// points into the TCP stream (with pauses so that reads really split), must
// come out of on_data exactly as a straightforward reference decoder reads
// the same bytes.
#include "support.hpp"

using namespace t;

namespace {

std::vector<std::string> ref_decode_length_prefix(const std::string &s) {
    std::vector<std::string> out;
    size_t off = 0;
    while (s.size() - off >= 4) {
        uint32_t n = get_u32(&s[off]);
        if (s.size() - off - 4 < n) break;
        out.push_back(s.substr(off + 4, n));
        off += 4 + n;
    }
    return out;
}

std::vector<std::string> ref_decode_lines(const std::string &s) {
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t i = 0; i < s.size(); i++) {
        if (s[i] != '\n') continue;
        std::string line = s.substr(start, i - start);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        out.push_back(line);
        start = i + 1;
    }
    return out;
}

void run(uint32_t framing, uint32_t seed) {
    INFO("framing " << framing << ", seed " << seed);
    std::mt19937 rng(seed);
    std::string wire;
    size_t count = 1500;
    for (size_t i = 0; i < count; i++) {
        if (framing == IOCPNET_FRAMING_LENGTH_PREFIX) {
            size_t n = 1 + rng() % (rng() % 8 == 0 ? 20000 : 200);
            std::string p = random_bytes(n, static_cast<uint32_t>(rng()));
            put_u32(wire, static_cast<uint32_t>(n));
            wire += p;
        } else {
            size_t n = 1 + rng() % (rng() % 8 == 0 ? 900 : 80);
            std::string p;
            for (size_t j = 0; j < n; j++) {
                char ch = static_cast<char>(1 + rng() % 255);
                if (ch == '\n') ch = 'n';
                p.push_back(ch);
            }
            if (p == "\r") p = "r";
            if (rng() % 3 == 0) p += "\r"; // ends in \r\n on the wire
            wire += p + "\n";
        }
    }
    std::vector<std::string> want =
        framing == IOCPNET_FRAMING_LINE ? ref_decode_lines(wire) : ref_decode_length_prefix(wire);
    REQUIRE(want.size() == count);

    Recorder srv;
    srv.keep_messages = true;
    srv.keep_data = false;
    Port sp(&srv);
    iocpnet_conn_options opt = default_options();
    opt.framing = framing;
    uint16_t port = listen_on(sp, nullptr, "127.0.0.1", &opt);
    raw::Socket peer = raw::Socket::connect("127.0.0.1", port);
    REQUIRE(peer.valid());
    peer.set_nodelay(true);
    size_t off = 0;
    while (off < wire.size()) {
        size_t k = 1 + rng() % (rng() % 4 == 0 ? 4096 : 16);
        if (k > wire.size() - off) k = wire.size() - off;
        REQUIRE(peer.send_all(wire.data() + off, k));
        off += k;
        if (rng() % 16 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
    }
    iocpnet_conn s = srv.wait_accepted();
    REQUIRE(s != 0);
    REQUIRE(wait_until([&] { return srv.messages(s).size() >= count; }));
    auto got = srv.messages(s);
    REQUIRE(got.size() == want.size());
    size_t bad = 0;
    for (size_t i = 0; i < want.size(); i++)
        if (got[i] != want[i] && bad++ < 3) FAIL_CHECK("message " << i << " differs from the reference");
    CHECK(bad == 0);
    CHECK(srv.is_closed(s) == false);
    REQUIRE_RC(sp.destroy(), IOCPNET_OK);
    check_clean(srv, true);
}

} // namespace

TEST_CASE("LENGTH_PREFIX decoder matches the reference on randomly split streams", "[framing][fuzz]") {
    for (uint32_t seed : {1u, 2u, 3u}) run(IOCPNET_FRAMING_LENGTH_PREFIX, seed + Catch::rngSeed());
}

TEST_CASE("LINE decoder matches the reference on randomly split streams", "[framing][fuzz]") {
    for (uint32_t seed : {11u, 12u, 13u}) run(IOCPNET_FRAMING_LINE, seed + Catch::rngSeed());
}
