// A byte-at-a-time reference decoder, written for obviousness rather than
// speed, and a driver that runs the engine's Decoder over the same stream
// split at arbitrary points. Both the Catch2 test and the libFuzzer target
// use it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "framing.hpp"

namespace iocpnet_test {

struct Outcome {
    std::vector<std::string> messages;
    bool too_large = false;
    bool operator==(const Outcome &o) const { return messages == o.messages && too_large == o.too_large; }
};

inline Outcome reference_decode(uint32_t framing, uint32_t max, const std::string &in) {
    Outcome out;
    std::string cur;
    if (framing == IOCPNET_FRAMING_LINE) {
        for (char ch : in) {
            if (ch == '\n') {
                if (!cur.empty() && cur.back() == '\r') cur.pop_back();
                if (cur.size() > max) return out.too_large = true, out;
                out.messages.push_back(cur);
                cur.clear();
            } else {
                cur.push_back(ch);
                if (cur.size() > size_t(max) + 1) return out.too_large = true, out;
            }
        }
        return out;
    }
    size_t i = 0;
    while (i + 4 <= in.size()) {
        uint32_t len = uint32_t(uint8_t(in[i])) << 24 | uint32_t(uint8_t(in[i + 1])) << 16 |
                       uint32_t(uint8_t(in[i + 2])) << 8 | uint8_t(in[i + 3]);
        if (len > max) return out.too_large = true, out;
        if (in.size() - i - 4 < len) break;
        out.messages.push_back(in.substr(i + 4, len));
        i += 4 + len;
    }
    return out;
}

// Feeds `in` to a Decoder in pieces whose sizes come from `cuts` (cycled).
inline Outcome engine_decode(uint32_t framing, uint32_t max, const std::string &in, const std::vector<size_t> &cuts) {
    Outcome out;
    iocpnet::Decoder d;
    d.reset(framing, max);
    size_t pos = 0, k = 0;
    while (pos < in.size()) {
        size_t n = cuts.empty() ? in.size() : cuts[k++ % cuts.size()];
        if (n == 0) n = 1;
        if (n > in.size() - pos) n = in.size() - pos;
        int rc = d.feed(reinterpret_cast<const uint8_t *>(in.data() + pos), n, [&](const uint8_t *m, size_t len) {
            out.messages.emplace_back(reinterpret_cast<const char *>(m), len);
            return true;
        });
        if (rc == IOCPNET_E_MESSAGE_TOO_LARGE) return out.too_large = true, out;
        pos += n;
    }
    return out;
}

} // namespace iocpnet_test
