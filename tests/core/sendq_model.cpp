// The send queue against a model (a plain byte string): random appends of
// copies and shared payloads with every framing, partial sends of what
// gather returns, and rollbacks never reorder, lose or invent a byte.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "framing.hpp"
#include "sendq.hpp"

using namespace iocpnet;

static std::string gathered(const SendQueue &q, unsigned max) {
    IoVec iov[64];
    unsigned n = q.gather(iov, max);
    std::string s;
    for (unsigned i = 0; i < n; ++i) s.append(static_cast<const char *>(iov[i].base), iov[i].len);
    return s;
}

TEST_CASE("send queue: random copies, shared payloads and partial sends keep every byte in order") {
    for (uint32_t seed = 1; seed <= 40; ++seed) {
        std::mt19937 rng(seed);
        SendQueue q;
        std::string model;
        uint8_t next = 0;
        for (int step = 0; step < 2000; ++step) {
            unsigned op = rng() % 10;
            if (op < 6) { // append one framed payload
                uint32_t framing = rng() % 3;
                size_t len = rng() % 4 == 0 ? rng() % 40000 : rng() % 600;
                std::string payload(len, '\0');
                for (auto &ch : payload) ch = char(next == '\n' ? ++next : next), ++next;
                Frame f;
                REQUIRE(frame_for(framing, payload.data(), len, &f) == IOCPNET_OK);
                SharedPayload *sp = rng() % 2 ? SharedPayload::create(payload.data(), len, 1) : nullptr;
                REQUIRE(q.append(f, sp ? sp->data() : reinterpret_cast<const uint8_t *>(payload.data()), len, sp));
                if (sp) sp->unref(); // the queue holds its own reference
                model.append(reinterpret_cast<const char *>(f.head), f.head_len);
                model += payload;
                if (f.tail_len) model += '\n';
            } else { // send part of what gather offers
                std::string front = gathered(q, 1 + rng() % 64);
                REQUIRE(model.compare(0, front.size(), front) == 0);
                size_t n = front.empty() ? 0 : rng() % (front.size() + 1);
                q.consume(n);
                model.erase(0, n);
            }
            REQUIRE(q.bytes() == model.size());
        }
        while (!q.empty()) { // drain
            std::string front = gathered(q, 64);
            REQUIRE(!front.empty());
            REQUIRE(model.compare(0, front.size(), front) == 0);
            q.consume(front.size());
            model.erase(0, front.size());
        }
        REQUIRE(model.empty());
    }
}

TEST_CASE("send queue: a tail block that grows while its front is in flight is sent exactly once") {
    SendQueue q;
    Frame raw;
    REQUIRE(q.append(raw, "abc", 3, nullptr));
    std::string first = gathered(q, 64);
    REQUIRE(first == "abc");
    REQUIRE(q.append(raw, "def", 3, nullptr)); // lands in the same block behind the bytes in flight
    q.consume(3);
    REQUIRE(gathered(q, 64) == "def");
}

TEST_CASE("send queue: a shared payload sent in pieces emits its header, payload and line end once") {
    std::string payload(300, 'x');
    SharedPayload *sp = SharedPayload::create(payload.data(), payload.size(), 1);
    Frame f;
    REQUIRE(frame_for(IOCPNET_FRAMING_LINE, payload.data(), payload.size(), &f) == IOCPNET_OK);
    SendQueue q;
    REQUIRE(q.append(f, sp->data(), sp->len, sp));
    sp->unref();
    std::string out;
    while (!q.empty()) {
        std::string front = gathered(q, 64);
        size_t n = front.size() > 7 ? 7 : front.size();
        out += front.substr(0, n);
        q.consume(n);
    }
    REQUIRE(out == payload + "\n");
}

TEST_CASE("send queue: a copy larger than a block goes into full blocks that the block cache takes back") {
    // One allocation of the message's own size would bypass the cache and be
    // freed and faulted in again for every large message (16 KiB echo).
    BlockCache cache;
    std::string payload(40000, '\0');
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = char('a' + i % 26);
    {
        SendQueue q;
        Frame raw;
        REQUIRE(q.append(raw, payload.data(), payload.size(), nullptr, &cache));
        std::string out;
        while (!q.empty()) {
            std::string front = gathered(q, 64);
            REQUIRE(!front.empty());
            out += front;
            q.consume(front.size(), &cache);
        }
        REQUIRE(out == payload);
    }
    std::vector<void *> cached;
    while (void *b = cache.take()) cached.push_back(b);
    for (void *b : cached) REQUIRE(cache.give(b)); // the cache's destructor frees them
    REQUIRE(cached.size() >= 2); // 40,000 bytes span three blocks
}

TEST_CASE("block cache: blocks no send needed for a whole trim period go back, the ones in use stay") {
    BlockCache cache;
    {
        SendQueue q;
        std::string payload(160000, 'z'); // ten full blocks
        REQUIRE(q.append(Frame{}, payload.data(), payload.size(), nullptr, &cache));
        q.clear(&cache);
    }
    const unsigned all = cache.size();
    REQUIRE(all >= 9);
    const int64_t t0 = 1000000, T = BlockCache::kTrimMs;
    REQUIRE(cache.trim(t0) == T); // the first period starts: nothing has been unused for one yet
    REQUIRE(cache.size() == all);
    void *busy[3] = {cache.take(), cache.take(), cache.take()}; // low mark: all - 3
    REQUIRE(cache.give(busy[0]));
    REQUIRE(cache.trim(t0 + 10) == T - 10); // not due: nothing freed
    REQUIRE(cache.size() == all - 2);
    REQUIRE(cache.trim(t0 + T) == T); // the all - 3 never taken go
    REQUIRE(cache.size() == 1);
    REQUIRE(cache.give(busy[1]));
    REQUIRE(cache.give(busy[2]));
    cache.trim(t0 + 2 * T); // the one held all period goes, the two given back stay a period more
    REQUIRE(cache.size() == 2);
    cache.trim(t0 + 3 * T);
    REQUIRE(cache.size() == 0);
    REQUIRE(cache.trim(t0 + 3 * T + 1) == -1); // empty: no wake-up needed
}
