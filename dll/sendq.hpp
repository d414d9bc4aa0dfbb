// A connection's send queue: a singly linked list of segments that never
// move while the kernel reads them. A segment is either a block of copied
// bytes (its capacity grows geometrically while copies follow each other,
// and starts small after a shared segment, so its real memory stays within
// 2x what it accounts plus one block), or a shared, reference-counted
// payload of a send_many with its framing bytes (a length header, a line
// end) inline in the segment: framing never costs a block of its own.
// An empty queue holds no memory.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "backend/backend.hpp"
#include "iocpnet/iocpnet.h"

namespace iocpnet {

// One payload shared by every receiver of a send_many (a copy that follows
// this header), or a buffer the user lent with iocpnet_send_owned; freed
// with its last reference. A lent buffer's free_fn is user code: it never
// runs where the last reference drops (a connection's lock is held there)
// but from the thread's list of frees, which its worker runs between
// events (run_frees).
struct SharedPayload {
    std::atomic<uint32_t> refs;
    size_t len;
    const uint8_t *ptr;               // the bytes: this + 1, or the user's
    iocpnet_free_fn free_fn = nullptr; // a lent buffer's (may be NULL)
    void *free_arg = nullptr;
    SharedPayload *next_free = nullptr;
    const uint8_t *data() const { return ptr; }
    bool lent() const { return ptr != reinterpret_cast<const uint8_t *>(this + 1); }
    static SharedPayload *create(const void *p, size_t len, uint32_t refs); // NULL on no memory
    static SharedPayload *lend(const void *p, size_t len, iocpnet_free_fn fn, void *arg); // one reference
    void ref() { refs.fetch_add(1, std::memory_order_relaxed); }
    void unref();
    void discard(); // a lent payload that was never queued: freed without free_fn
    static void run_frees(); // the calling thread's pending free_fn calls
};

// The bytes a framing adds around one payload (at most 14 before: a
// WebSocket header with a client's masking key; 1 after).
struct Frame {
    uint8_t head[14] = {};
    uint8_t head_len = 0;
    uint8_t tail_len = 0; // 1: a '\n' follows the payload
    size_t total(size_t payload) const { return head_len + payload + tail_len; }
};

// Spare full-size copy blocks of one worker. Streams of large sends free a
// block per message and allocate the next at once; going through the system
// each time costs a page fault per 4 KiB copied. The cache keeps what the
// worker's queues needed lately: blocks that stayed unused for a whole trim
// period go back to the system (trim), so a burst's memory does not stay.
// take/give: any thread (the connection's lock is held, not this cache's
// owner); trim: the owning worker.
class BlockCache {
  public:
    static constexpr unsigned kMax = 1024;       // 16 MiB per worker at most
    static constexpr int64_t kTrimMs = 1000;     // a block unused this long is freed
    BlockCache() = default;
    BlockCache(const BlockCache &) = delete;
    BlockCache &operator=(const BlockCache &) = delete;
    ~BlockCache();
    void *take();       // a block, or NULL
    bool give(void *b); // false: full, the caller frees it
    unsigned size();    // blocks held now
    // Frees the blocks that no take needed since the last trim, at most once
    // per kTrimMs. Returns the ms until it has something to do again, or -1
    // when the cache is empty.
    int64_t trim(int64_t now_ms);

  private:
    std::mutex mu_;
    void *blocks_[kMax] = {};
    unsigned n_ = 0;
    unsigned low_ = 0;     // the fewest blocks held since the last trim
    int64_t trimmed_ = 0;  // when (ms), owner only
};

class SendQueue {
  public:
    // Payloads below this are copied even by send_many: a copy is cheaper
    // than a segment and a reference, and keeps memory close to accounting.
    static constexpr size_t kShareMin = 256;

    SendQueue() = default;
    SendQueue(const SendQueue &) = delete;
    SendQueue &operator=(const SendQueue &) = delete;
    ~SendQueue() { clear(); }

    size_t bytes() const { return bytes_; }
    bool empty() const { return bytes_ == 0; }
    // Queues f.head, the payload and f's tail; all or nothing. sp (may be
    // NULL) is the payload shared with other queues: it is referenced, not
    // copied, when it is large enough. False on no memory (nothing queued).
    // cache (may be NULL) lends and takes back full-size blocks.
    // skip: that many bytes of the frame were written already (an inline
    // send): a shared segment starts past them (only when shares(sp, len)).
    bool append(const Frame &f, const void *data, size_t len, SharedPayload *sp, BlockCache *cache = nullptr,
                size_t skip = 0);
    // Whether append references sp instead of copying it.
    static bool shares(const SharedPayload *sp, size_t len) { return sp && (len >= kShareMin || sp->lent()); }
    // The same for a payload in several parts (copied; sp == NULL).
    bool append(const Frame &f, const IoVec *parts, size_t n, BlockCache *cache = nullptr);
    // Fills iov with the queue's front; returns the count (0 when empty).
    unsigned gather(IoVec *iov, unsigned max) const;
    void consume(size_t n, BlockCache *cache = nullptr); // n bytes of the front were sent
    void clear(BlockCache *cache = nullptr);

    struct Seg; // a segment (sendq.cpp)

  private:
    bool append_copy(const void *p, size_t len, BlockCache *cache);
    static void drop(Seg *s, BlockCache *cache);
    Seg *head_ = nullptr, *tail_ = nullptr;
    size_t bytes_ = 0;
};

} // namespace iocpnet
