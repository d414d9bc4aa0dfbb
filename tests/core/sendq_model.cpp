// The send queue against a model (a plain byte string): random appends of
// copies and shared payloads with every framing, partial sends of what
// gather returns, and rollbacks never reorder, lose or invent a byte.
#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>

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
