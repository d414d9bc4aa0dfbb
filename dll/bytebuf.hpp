// Received bytes that wait inside a connection: a message's first part (the
// decoder) or what a paused receiver has not taken yet (the pipeline). Every
// connection slot carries these, so they cost two words there (a
// std::vector costs three): the capacity lives at the front of the
// allocation, read only when the buffer grows. Unlike a vector it never
// throws: a failed allocation is reported, and the connection closes with
// IOCPNET_E_NO_MEMORY instead of the worker dying of an exception.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace iocpnet {

class ByteBuf {
  public:
    ByteBuf() = default;
    ByteBuf(const ByteBuf &) = delete;
    ByteBuf &operator=(const ByteBuf &) = delete;
    ~ByteBuf() { release(); }

    bool empty() const { return n_ == 0; }
    size_t size() const { return n_; }
    uint8_t *data() const { return p_; }

    // Appends n bytes; false on no memory (then nothing was appended).
    bool append(const uint8_t *p, size_t n) {
        if (!n) return true;
        if (n > cap() - n_ && !grow(n)) return false;
        memcpy(p_ + n_, p, n);
        n_ += n;
        return true;
    }
    void clear() { n_ = 0; } // keeps the memory: the next partial message reuses it
    void consume(size_t n) { // the first n bytes (n <= size()) were taken
        memmove(p_, p_ + n, n_ - n);
        n_ -= n;
    }
    void release() { // frees the memory
        if (p_) free(p_ - kHead);
        p_ = nullptr;
        n_ = 0;
    }

  private:
    static constexpr size_t kHead = sizeof(size_t); // the capacity, before the bytes
    size_t cap() const {
        size_t c = 0;
        if (p_) memcpy(&c, p_ - kHead, sizeof c);
        return c;
    }
    bool grow(size_t n) {
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

    uint8_t *p_ = nullptr;
    size_t n_ = 0;
};

} // namespace iocpnet
