// The slot's byte buffers (ByteBuf: a decoder's partial message, a paused
// receiver's held bytes) against a std::string model, and what a plain
// pipeline does without the TLS / WebSocket state it no longer carries.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "bytebuf.hpp"
#include "pipeline.hpp"

using namespace iocpnet;

namespace {
const uint8_t *u8(const std::string &s) { return reinterpret_cast<const uint8_t *>(s.data()); }
std::string str(const ByteBuf &b) { return std::string(reinterpret_cast<const char *>(b.data()), b.size()); }

struct NullLayer : Layer {
    int recv(const uint8_t *p, size_t n, Up &up) override { return up.put(p, n) ? IOCPNET_OK : IOCPNET_E_TLS; }
    int send(const Frame &, const IoVec *, size_t, SendQueue &, BlockCache *) override { return IOCPNET_OK; }
    bool take_output(SendQueue &) override { return true; }
};
} // namespace

TEST_CASE("byte buffer: random appends and front consumes keep every byte in order") {
    std::mt19937 rng(14);
    ByteBuf b;
    std::string model;
    REQUIRE(b.empty());
    REQUIRE(b.data() == nullptr);
    REQUIRE(b.append(nullptr, 0)); // nothing to keep: no memory taken
    REQUIRE(b.data() == nullptr);
    for (int i = 0; i < 2000; i++) {
        std::string chunk(rng() % 3000, '\0');
        for (auto &ch : chunk) ch = char(rng());
        REQUIRE(b.append(u8(chunk), chunk.size()));
        model += chunk;
        if (rng() % 3 == 0 && !model.empty()) {
            size_t n = rng() % (model.size() + 1);
            b.consume(n);
            model.erase(0, n);
        }
        REQUIRE(b.size() == model.size());
        REQUIRE(str(b) == model);
    }
    b.release();
    REQUIRE(b.empty());
    REQUIRE(b.data() == nullptr);
}

TEST_CASE("byte buffer: clear keeps the memory for the next partial message, release frees it") {
    ByteBuf b;
    std::string big(10000, 'x'), small(100, 'y');
    REQUIRE(b.append(u8(big), big.size()));
    const uint8_t *mem = b.data();
    b.clear();
    REQUIRE(b.empty());
    REQUIRE(b.append(u8(small), small.size()));
    REQUIRE(b.data() == mem); // no new allocation per message
    REQUIRE(str(b) == small);
    b.release();
    REQUIRE(b.data() == nullptr);
    REQUIRE(b.size() == 0);
}

TEST_CASE("pipeline: a plain connection carries no layer, session or held bytes, a WebSocket or TLS one does") {
    Pipeline p;
    for (uint32_t f : {IOCPNET_FRAMING_RAW, IOCPNET_FRAMING_LENGTH_PREFIX, IOCPNET_FRAMING_LINE}) {
        REQUIRE(p.reset(f, 1024));
        CHECK(p.framing() == f);
        CHECK(p.layer() == nullptr);
        CHECK(p.ws() == nullptr);
        CHECK(p.announced());
        CHECK(p.direct());
        CHECK_FALSE(p.holding());
    }
    REQUIRE(p.reset(IOCPNET_FRAMING_WEBSOCKET, 1024)); // a server
    REQUIRE(p.ws() != nullptr);
    CHECK_FALSE(p.ws()->client());
    CHECK_FALSE(p.announced()); // until the upgrade
    CHECK(p.direct());          // a server's frames go out as they are
    p.set_announced();
    CHECK(p.announced());
    REQUIRE(p.reset(IOCPNET_FRAMING_WEBSOCKET, 1024, nullptr, true)); // a client masks: never direct
    REQUIRE(p.ws() != nullptr);
    CHECK(p.ws()->client());
    CHECK_FALSE(p.direct());
    NullLayer layer;
    REQUIRE(p.reset(IOCPNET_FRAMING_LINE, 1024, &layer));
    CHECK(p.layer() == &layer);
    CHECK(p.ws() == nullptr);
    CHECK(p.announced());
    CHECK_FALSE(p.direct());
    REQUIRE(p.reset(IOCPNET_FRAMING_RAW, 0)); // the slot's release: back to plain
    CHECK(p.layer() == nullptr);
    CHECK(p.ws() == nullptr);
    CHECK(p.direct());
}

TEST_CASE("pipeline: bytes held while paused go first on resume, and holding ends when they are delivered") {
    Pipeline p;
    REQUIRE(p.reset(IOCPNET_FRAMING_LINE, 1024));
    std::vector<std::string> got;
    bool ready = true;
    auto emit = [&](const uint8_t *m, size_t n) {
        got.emplace_back(reinterpret_cast<const char *>(m), n);
        ready = got.size() < 1; // pause after the first message
        return true;
    };
    std::string in = "one\ntwo\nthr";
    REQUIRE(p.recv(u8(in), in.size(), [&] { return ready; }, emit) == IOCPNET_OK);
    REQUIRE(got == std::vector<std::string>{"one"});
    REQUIRE(p.holding());
    std::string more = "ee\nfour\n";
    REQUIRE(p.recv(u8(more), more.size(), [&] { return ready; }, emit) == IOCPNET_OK); // behind the held bytes
    REQUIRE(got.size() == 1);
    ready = true;
    auto all = [&](const uint8_t *m, size_t n) {
        got.emplace_back(reinterpret_cast<const char *>(m), n);
        return true;
    };
    REQUIRE(p.resume([] { return true; }, all) == IOCPNET_OK);
    REQUIRE(got == std::vector<std::string>{"one", "two", "three", "four"});
    REQUIRE_FALSE(p.holding());
}
