// ByteBuf's memory (see bytebuf.hpp): the capacity is stored in the first
// word of the allocation, the bytes follow it.
#include "bytebuf.hpp"

#include <cstdlib>
#include <cstring>

namespace iocpnet {

static constexpr size_t kHead = sizeof(size_t);

size_t ByteBuf::cap() const {
    size_t c = 0;
    if (p_) memcpy(&c, p_ - kHead, sizeof c);
    return c;
}

bool ByteBuf::grow(size_t n) {
    size_t want = n_ + n, c = cap() * 2; // geometric, as a vector: appends stay amortized O(1)
    if (want < n_ || want > SIZE_MAX - kHead) return false;
    if (c < want) c = want;
    if (c < 64) c = 64;
    if (c > SIZE_MAX - kHead) c = want;
    void *b = realloc(p_ ? p_ - kHead : nullptr, kHead + c);
    if (!b) return false;
    memcpy(b, &c, sizeof c);
    p_ = static_cast<uint8_t *>(b) + kHead;
    return true;
}

bool ByteBuf::append(const uint8_t *p, size_t n) {
    if (!n) return true;
    if (n > cap() - n_ && !grow(n)) return false;
    memcpy(p_ + n_, p, n);
    n_ += n;
    return true;
}

void ByteBuf::consume(size_t n) {
    memmove(p_, p_ + n, n_ - n);
    n_ -= n;
}

void ByteBuf::release() {
    if (p_) free(p_ - kHead);
    p_ = nullptr;
    n_ = 0;
}

} // namespace iocpnet
