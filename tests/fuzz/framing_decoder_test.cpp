// The decoders against the reference decoder on random streams split at
// random points (the Catch2 side of the fuzzing; framing_fuzz.cpp is the
// libFuzzer side).
#include <catch2/catch.hpp>
#include <random>

#include "framing_model.hpp"

using namespace iocpnet_test;

static std::string random_line_stream(std::mt19937 &rng, uint32_t max) {
    std::string s;
    int lines = int(rng() % 40);
    for (int i = 0; i < lines; ++i) {
        size_t len = rng() % (rng() % 8 == 0 ? size_t(max) + 8 : size_t(max / 2 + 2));
        for (size_t j = 0; j < len; ++j) {
            uint32_t r = rng() % 64;
            s.push_back(r == 0 ? '\r' : r == 1 ? '\0' : char('a' + r % 26));
        }
        s += rng() % 4 == 0 ? "\r\n" : "\n";
    }
    if (rng() % 3 == 0) s += "tail-without-newline";
    return s;
}

static std::string random_length_stream(std::mt19937 &rng, uint32_t max) {
    std::string s;
    int msgs = int(rng() % 30);
    for (int i = 0; i < msgs; ++i) {
        uint32_t len = uint32_t(rng() % (rng() % 10 == 0 ? max + 16 : max / 2 + 1));
        if (rng() % 50 == 0) len = 0x7FFFFFFF; // an absurd announced length
        s.push_back(char(len >> 24)), s.push_back(char(len >> 16)), s.push_back(char(len >> 8)), s.push_back(char(len));
        size_t body = len > max ? 8 : len; // an oversized message need not be sent whole
        for (size_t j = 0; j < body; ++j) s.push_back(char(rng()));
    }
    return s;
}

TEST_CASE("decoders agree with the reference decoder on random streams and splits", "[framing]") {
    std::mt19937 rng(20261122);
    for (int iter = 0; iter < 3000; ++iter) {
        uint32_t max = 1 + rng() % 64;
        bool line = iter % 2 == 0;
        uint32_t framing = line ? IOCPNET_FRAMING_LINE : IOCPNET_FRAMING_LENGTH_PREFIX;
        std::string in = line ? random_line_stream(rng, max) : random_length_stream(rng, max);
        std::vector<size_t> cuts;
        for (int i = 0, n = 1 + int(rng() % 6); i < n; ++i) cuts.push_back(1 + rng() % 97);
        Outcome want = reference_decode(framing, max, in);
        Outcome got = engine_decode(framing, max, in, cuts);
        INFO("iteration " << iter << " framing " << framing << " max " << max << " size " << in.size());
        REQUIRE(got.too_large == want.too_large);
        REQUIRE(got.messages == want.messages);
    }
}

TEST_CASE("a huge announced length is refused without reserving memory", "[framing]") {
    iocpnet::Decoder d;
    d.reset(IOCPNET_FRAMING_LENGTH_PREFIX, 1u << 20);
    const uint8_t hdr[4] = {0x7F, 0xFF, 0xFF, 0xFF};
    int calls = 0;
    int rc = d.feed(hdr, 4, [&](const uint8_t *, size_t) { return ++calls, true; });
    REQUIRE(rc == IOCPNET_E_MESSAGE_TOO_LARGE);
    REQUIRE(calls == 0);
}

TEST_CASE("LINE drops one trailing carriage return and keeps empty lines", "[framing]") {
    Outcome o = engine_decode(IOCPNET_FRAMING_LINE, 16, "a\r\n\nb\r\r\n", {1});
    REQUIRE(o.messages == std::vector<std::string>{"a", "", "b\r"});
    REQUIRE_FALSE(o.too_large);
}
