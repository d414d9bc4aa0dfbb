// A decoder with no memory for a message's first part, or a pipeline with
// no memory to hold a paused receiver's bytes, reports IOCPNET_E_NO_MEMORY
// (the connection then closes with that reason) and delivers nothing
// half-made. A message that arrives whole needs no memory at all.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "failing_new.hpp"
#include "framing.hpp"
#include "pipeline.hpp"

using namespace iocpnet;

namespace {
const uint8_t *u8(const char *s) { return reinterpret_cast<const uint8_t *>(s); }
} // namespace

TEST_CASE("decoder: no memory for a message's first part gives NO_MEMORY, a whole message needs none") {
    // 1 byte: nothing can be allocated; 64: the buffer's first block cannot.
    for (size_t from : {size_t(1), size_t(64)}) {
        INFO("allocations of " << from << " bytes and more fail");
        std::vector<std::string> got;
        got.reserve(4); // the test's own bookkeeping allocates nothing below (short strings)
        auto emit = [&](const uint8_t *m, size_t n) {
            got.emplace_back(reinterpret_cast<const char *>(m), n);
            return true;
        };
        Decoder line, length;
        line.reset(IOCPNET_FRAMING_LINE, 1024);
        length.reset(IOCPNET_FRAMING_LENGTH_PREFIX, 1024);
        std::string framed("\0\0\0\x05" "hello" "\0\0\0\x0A" "hel", 15);
        int whole, half_line, half_framed;
        {
            failing_new::Scope no_memory(from);
            whole = line.feed(u8("whole\n"), 6, emit);
            half_line = line.feed(u8("half a li"), 9, emit);
            half_framed = length.feed(u8(framed.data()), framed.size(), emit);
        }
        CHECK(whole == IOCPNET_OK);
        CHECK(half_line == IOCPNET_E_NO_MEMORY);
        CHECK(half_framed == IOCPNET_E_NO_MEMORY);
        CHECK(got == std::vector<std::string>{"whole", "hello"});
    }
}

TEST_CASE("pipeline: no memory to hold a paused receiver's bytes gives NO_MEMORY and holds nothing") {
    for (size_t from : {size_t(1), size_t(64)}) {
        INFO("allocations of " << from << " bytes and more fail");
        Pipeline p;
        REQUIRE(p.reset(IOCPNET_FRAMING_LINE, 1024));
        size_t delivered = 0;
        auto emit = [&](const uint8_t *, size_t) { return ++delivered, true; };
        int rc;
        {
            failing_new::Scope no_memory(from);
            rc = p.recv(u8("one\ntwo\n"), 8, [] { return false; }, emit);
        }
        CHECK(rc == IOCPNET_E_NO_MEMORY);
        CHECK_FALSE(p.holding());
        CHECK(delivered == 0);
    }
}
