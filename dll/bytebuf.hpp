// Received bytes that wait inside a connection: a message's first part (the
// decoder) or what a paused receiver has not taken yet (the pipeline). Every
// connection slot carries these, so they cost two words there (a
// std::vector costs three): the capacity lives at the front of the
// allocation, read only when the buffer grows. Unlike a vector it never
// throws: a failed allocation is reported and the connection closes with
// IOCPNET_E_NO_MEMORY (a bad_alloc would abandon the completion halfway:
// the worker's catch logs it, the connection keeps a reference for good).
#pragma once
#include <cstddef>
#include <cstdint>

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
    // Out of line, as the rest: these are the rare paths (a message split
    // across reads, a paused receiver), kept out of the callers' hot code.
    bool append(const uint8_t *p, size_t n);
    void clear() { n_ = 0; } // keeps the memory: the next partial message reuses it
    void consume(size_t n);  // the first n bytes (n <= size()) were taken
    void release();          // frees the memory

  private:
    size_t cap() const;
    bool grow(size_t n);

    uint8_t *p_ = nullptr;
    size_t n_ = 0;
};

} // namespace iocpnet
