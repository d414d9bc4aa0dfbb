// An incremental UTF-8 validator (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF) for WebSocket text, which must be valid across
// fragment boundaries (RFC 6455 8.1): state carries a partial sequence over.
#pragma once
#include <cstddef>
#include <cstdint>

namespace iocpnet {
namespace ws {

class Utf8 {
  public:
    void reset() { need_ = 0, lo_ = 0x80, hi_ = 0xBF; }
    // False as soon as the bytes cannot be (the start of) valid UTF-8.
    bool feed(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++) {
            uint8_t b = p[i];
            if (!need_) {
                if (b < 0x80) continue;
                lo_ = 0x80, hi_ = 0xBF;
                if (b >= 0xC2 && b <= 0xDF) need_ = 1;
                else if (b >= 0xE0 && b <= 0xEF) {
                    need_ = 2;
                    if (b == 0xE0) lo_ = 0xA0;       // overlong
                    else if (b == 0xED) hi_ = 0x9F;  // surrogates
                } else if (b >= 0xF0 && b <= 0xF4) {
                    need_ = 3;
                    if (b == 0xF0) lo_ = 0x90;       // overlong
                    else if (b == 0xF4) hi_ = 0x8F;  // above U+10FFFF
                } else return false;
                continue;
            }
            if (b < lo_ || b > hi_) return false;
            lo_ = 0x80, hi_ = 0xBF;
            --need_;
        }
        return true;
    }
    bool complete() const { return need_ == 0; }

  private:
    unsigned need_ = 0;
    uint8_t lo_ = 0x80, hi_ = 0xBF;
};

} // namespace ws
} // namespace iocpnet
