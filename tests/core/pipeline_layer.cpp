// The pipeline's seam: a transform layer between the socket and the framing
// sees network bytes before the decoder and payload bytes after the framing,
// and the framings work the same with or without it.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pipeline.hpp"

using namespace iocpnet;

namespace {
// A toy transform: every byte XOR 0x5A on the wire; it also owes one byte of
// its own ("hello") that take_output hands over.
struct XorLayer : Layer {
    bool greeted = false;
    int recv(const uint8_t *p, size_t n, Up &up) override {
        std::vector<uint8_t> plain(p, p + n);
        for (auto &b : plain) b ^= 0x5A;
        up.put(plain.data(), plain.size());
        return IOCPNET_OK;
    }
    int send(const Frame &f, const IoVec *parts, size_t n, SendQueue &out, BlockCache *) override {
        std::vector<uint8_t> wire(f.head, f.head + f.head_len);
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = static_cast<const uint8_t *>(parts[i].base);
            wire.insert(wire.end(), p, p + parts[i].len);
        }
        if (f.tail_len) wire.push_back('\n');
        for (auto &b : wire) b ^= 0x5A;
        return out.append(Frame{}, wire.data(), wire.size(), nullptr) ? IOCPNET_OK : IOCPNET_E_NO_MEMORY;
    }
    bool take_output(SendQueue &out) override {
        if (greeted) return true;
        greeted = true;
        return out.append(Frame{}, "H", 1, nullptr);
    }
};

std::string drain(SendQueue &q) {
    IoVec iov[64];
    std::string s;
    while (!q.empty()) {
        unsigned n = q.gather(iov, 64);
        size_t total = 0;
        for (unsigned i = 0; i < n; ++i) s.append(static_cast<const char *>(iov[i].base), iov[i].len), total += iov[i].len;
        q.consume(total);
    }
    return s;
}
} // namespace

TEST_CASE("pipeline: LINE framing through a transform layer, both directions") {
    XorLayer layer;
    Pipeline p;
    p.reset(IOCPNET_FRAMING_LINE, 1024, &layer);
    SendQueue q;
    Frame f;
    REQUIRE(p.frame("hi", 2, &f) == IOCPNET_OK);
    REQUIRE(p.send(f, "hi", 2, nullptr, q, nullptr));
    REQUIRE(layer.take_output(q));
    std::string wire = drain(q);
    REQUIRE(wire.size() == 4);
    for (auto &ch : wire) ch = char(ch ^ 0x5A);
    REQUIRE(wire == "hi\n" + std::string(1, char('H' ^ 0x5A)));

    std::string in = "one\ntwo\n";
    for (auto &ch : in) ch = char(ch ^ 0x5A);
    std::vector<std::string> got;
    int rc = p.recv(reinterpret_cast<const uint8_t *>(in.data()), in.size(), [&](const uint8_t *m, size_t n) {
        got.emplace_back(reinterpret_cast<const char *>(m), n);
        return true;
    });
    REQUIRE(rc == IOCPNET_OK);
    REQUIRE(got == std::vector<std::string>{"one", "two"});
}

TEST_CASE("pipeline: without a layer, received bytes go straight to the decoder") {
    Pipeline p;
    p.reset(IOCPNET_FRAMING_LENGTH_PREFIX, 16);
    const uint8_t msg[] = {0, 0, 0, 2, 'o', 'k', 0, 0, 0, 99};
    std::vector<std::string> got;
    int rc = p.recv(msg, sizeof msg, [&](const uint8_t *m, size_t n) {
        got.emplace_back(reinterpret_cast<const char *>(m), n);
        return true;
    });
    REQUIRE(got == std::vector<std::string>{"ok"});
    REQUIRE(rc == IOCPNET_E_MESSAGE_TOO_LARGE); // 99 > max_message_size 16
}
