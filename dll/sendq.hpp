// A connection's send queue: segments of its own copied bytes (coalesced
// into fixed-capacity blocks, so bytes already handed to the kernel never
// move) and of shared, reference-counted broadcast payloads.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>

#include "backend/backend.hpp"

namespace iocpnet {

// One payload shared by every receiver of a send_many; freed with its last
// reference.
struct SharedPayload {
    std::atomic<uint32_t> refs;
    size_t len;
    uint8_t *data() { return reinterpret_cast<uint8_t *>(this + 1); }
    static SharedPayload *create(const void *p, size_t len, uint32_t refs); // NULL on no memory
    void unref();
};

class SendQueue {
  public:
    SendQueue() = default;
    SendQueue(const SendQueue &) = delete;
    SendQueue &operator=(const SendQueue &) = delete;
    ~SendQueue() { clear(); }

    size_t bytes() const { return bytes_; }
    bool empty() const { return bytes_ == 0; }
    bool append_copy(const void *p, size_t len);      // false on no memory
    bool append_shared(SharedPayload *sp);            // takes one reference
    // Fills iov with the queue's front; returns the count (0 when empty).
    unsigned gather(IoVec *iov, unsigned max) const;
    void consume(size_t n);                           // n bytes were sent
    void clear();

  private:
    struct Seg {
        uint8_t *own;        // a block of ours (cap bytes), or NULL
        SharedPayload *sp;   // or a shared payload
        size_t off, end, cap;
    };
    std::deque<Seg> segs_;
    size_t bytes_ = 0;
};

} // namespace iocpnet
