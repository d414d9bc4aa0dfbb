// ByteBuf's memory (see bytebuf.hpp): the capacity is stored in the first
// word of the allocation, the bytes follow it.
#include "bytebuf.hpp"

#include <cstring>
#include <new>

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
    // operator new, not realloc: growth is rare (a message split across
    // reads, a paused receiver), and a program's own operator new then
    // governs this memory too (core_tests fails it on demand).
    auto *b = static_cast<uint8_t *>(::operator new(kHead + c, std::nothrow));
    if (!b) return false;
    memcpy(b, &c, sizeof c);
    if (p_) {
        memcpy(b + kHead, p_, n_);
        ::operator delete(p_ - kHead);
    }
    p_ = b + kHead;
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
    if (p_) ::operator delete(p_ - kHead);
    p_ = nullptr;
    n_ = 0;
}

} // namespace iocpnet
