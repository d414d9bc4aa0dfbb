#include "sendq.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#if !defined(_WIN32)
#include <sys/mman.h>
#endif

namespace iocpnet {

// A copy block (sp == NULL, `cap` bytes follow the header) or a shared
// payload framed as head + payload + tail; off/end count the segment's
// logical bytes.
struct SendQueue::Seg {
    Seg *next;
    SharedPayload *sp;
    size_t off, end, cap;
    Frame f;
    uint8_t *own() { return reinterpret_cast<uint8_t *>(this + 1); }
};

// A full copy block is 16 KiB with its header, four pages of its own: the
// memory of a queue that grew large (a peer that stopped reading) goes back
// to the system when the queue is freed, whichever thread freed it. From
// malloc it would go back to the arena of the thread that queued it, and the
// next burst, queued by other threads, would grow other arenas: the process
// would keep the peak of every thread's share instead of one peak.
// (Windows' heap is not per thread; sanitizers want to see every block.)
static constexpr size_t kBlockBytes = 16 * 1024;
static constexpr size_t kBlockMin = 64, kBlockMax = kBlockBytes - sizeof(SendQueue::Seg);

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IOCPNET_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define IOCPNET_ASAN 1
#endif

static void *full_block_alloc() {
#if defined(_WIN32) || defined(IOCPNET_ASAN)
    return malloc(kBlockBytes);
#else
    void *p = mmap(nullptr, kBlockBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
#endif
}

static void full_block_free(void *p) {
#if defined(_WIN32) || defined(IOCPNET_ASAN)
    free(p);
#else
    munmap(p, kBlockBytes);
#endif
}

// Frees a segment by how it was allocated: full blocks apart.
static void free_seg(SendQueue::Seg *s) {
    if (!s->sp && s->cap == kBlockMax) full_block_free(s);
    else free(s);
}

SharedPayload *SharedPayload::create(const void *p, size_t len, uint32_t refs) {
    void *mem = malloc(sizeof(SharedPayload) + (len ? len : 1));
    if (!mem) return nullptr;
    auto *sp = new (mem) SharedPayload;
    sp->refs.store(refs, std::memory_order_relaxed);
    sp->len = len;
    sp->ptr = reinterpret_cast<const uint8_t *>(sp + 1);
    if (len) memcpy(reinterpret_cast<uint8_t *>(sp + 1), p, len);
    return sp;
}

SharedPayload *SharedPayload::lend(const void *p, size_t len, iocpnet_free_fn fn, void *arg) {
    auto *sp = new (std::nothrow) SharedPayload;
    if (!sp) return nullptr;
    sp->refs.store(1, std::memory_order_relaxed);
    sp->len = len;
    sp->ptr = static_cast<const uint8_t *>(p);
    sp->free_fn = fn;
    sp->free_arg = arg;
    return sp;
}

namespace {
thread_local SharedPayload *t_frees = nullptr; // last references dropped under a lock
}

void SharedPayload::unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    if (free_fn) {
        next_free = t_frees;
        t_frees = this;
        return;
    }
    discard();
}

void SharedPayload::discard() {
    bool copied = !lent();
    this->~SharedPayload();
    if (copied) free(this);
    else ::operator delete(this);
}

void SharedPayload::run_frees() {
    while (SharedPayload *sp = t_frees) {
        t_frees = sp->next_free;
        sp->free_fn(sp->free_arg, sp->ptr);
        sp->discard();
    }
}

BlockCache::~BlockCache() {
    for (unsigned i = 0; i < n_; i++) full_block_free(blocks_[i]);
}

void *BlockCache::take() {
    std::lock_guard<std::mutex> lk(mu_);
    if (!n_) return nullptr;
    if (--n_ < low_) low_ = n_;
    return blocks_[n_];
}

unsigned BlockCache::size() {
    std::lock_guard<std::mutex> lk(mu_);
    return n_;
}

int64_t BlockCache::trim(int64_t now_ms) {
    void *spare[kMax];
    unsigned k;
    {
        std::lock_guard<std::mutex> lk(mu_);
        if (now_ms - trimmed_ < kTrimMs) return n_ ? trimmed_ + kTrimMs - now_ms : -1;
        k = low_; // never taken during the whole period
        n_ -= k;
        memcpy(spare, blocks_ + n_, k * sizeof(void *));
        low_ = n_;
        trimmed_ = now_ms;
        if (!n_ && !k) return -1;
    }
    for (unsigned i = 0; i < k; i++) full_block_free(spare[i]); // no lock held for the system calls
    return kTrimMs;
}

bool BlockCache::give(void *b) {
    std::lock_guard<std::mutex> lk(mu_);
    if (n_ == kMax) return false;
    blocks_[n_++] = b;
    return true;
}

void SendQueue::drop(Seg *s, BlockCache *cache) {
    if (s->sp) s->sp->unref();
    else if (s->cap == kBlockMax && cache && cache->give(s)) return;
    free_seg(s);
}

bool SendQueue::append_copy(const void *p, size_t len, BlockCache *cache) {
    auto *src = static_cast<const uint8_t *>(p);
    Seg *t = tail_;
    if (t && !t->sp && t->end < t->cap) { // fill the tail block; its sent bytes never move
        size_t take = t->cap - t->end < len ? t->cap - t->end : len;
        memcpy(t->own() + t->end, src, take);
        t->end += take, bytes_ += take, src += take, len -= take;
    }
    // Double while copies follow each other; start small after a shared
    // segment. A copy larger than a block spans full blocks, which the
    // worker's cache takes back: one allocation of its own size would be
    // freed and faulted in again for every large message.
    while (len) {
        size_t cap = t && !t->sp ? t->cap * 2 : kBlockMin;
        if (cap > kBlockMax) cap = kBlockMax;
        if (cap < len) cap = len < kBlockMax ? len : kBlockMax;
        size_t take = len < cap ? len : cap;
        void *mem = cap == kBlockMax && cache ? cache->take() : nullptr;
        if (!mem) mem = cap == kBlockMax ? full_block_alloc() : malloc(sizeof(Seg) + cap);
        auto *s = static_cast<Seg *>(mem);
        if (!s) return false;
        *s = Seg{nullptr, nullptr, 0, take, cap, Frame{}};
        memcpy(s->own(), src, take);
        if (tail_) tail_->next = s;
        else head_ = s;
        tail_ = t = s;
        bytes_ += take, src += take, len -= take;
    }
    return true;
}

bool SendQueue::append(const Frame &f, const void *data, size_t len, SharedPayload *sp, BlockCache *cache,
                       size_t skip) {
    if (shares(sp, len)) { // a lent buffer is never copied
        auto *s = static_cast<Seg *>(malloc(sizeof(Seg)));
        if (!s) return false;
        sp->ref();
        *s = Seg{nullptr, sp, skip, f.total(len), 0, f};
        if (tail_) tail_->next = s;
        else head_ = s;
        tail_ = s;
        bytes_ += s->end - s->off;
        return true;
    }
    IoVec part{data, len};
    return append(f, &part, 1, cache);
}

bool SendQueue::append(const Frame &f, const IoVec *parts, size_t n, BlockCache *cache) {
    // All or nothing: remember the tail so a failure can be rolled back.
    Seg *old_tail = tail_;
    size_t old_end = tail_ ? tail_->end : 0, old_bytes = bytes_;
    static const uint8_t nl = '\n';
    bool ok = !f.head_len || append_copy(f.head, f.head_len, cache);
    for (size_t i = 0; ok && i < n; i++) ok = !parts[i].len || append_copy(parts[i].base, parts[i].len, cache);
    if (ok && f.tail_len) ok = append_copy(&nl, 1, cache);
    if (!ok) {
        Seg *s = old_tail ? old_tail->next : head_;
        while (s) {
            Seg *n = s->next;
            free_seg(s);
            s = n;
        }
        if (old_tail) old_tail->next = nullptr, old_tail->end = old_end;
        else head_ = nullptr;
        tail_ = old_tail;
        bytes_ = old_bytes;
        return false;
    }
    return true;
}

unsigned SendQueue::gather(IoVec *iov, unsigned max) const {
    unsigned n = 0;
    for (Seg *s = head_; s && n < max; s = s->next) {
        if (!s->sp) {
            if (s->end > s->off) iov[n++] = IoVec{s->own() + s->off, s->end - s->off};
            continue;
        }
        // head, payload, tail: emit the parts not yet sent
        size_t off = s->off, h = s->f.head_len, p = s->sp->len;
        if (off < h) iov[n++] = IoVec{s->f.head + off, h - off};
        if (n < max && off < h + p) {
            size_t from = off > h ? off - h : 0;
            iov[n++] = IoVec{s->sp->data() + from, p - from};
        }
        if (n < max && s->f.tail_len && off < s->end) {
            static const uint8_t nl = '\n';
            iov[n++] = IoVec{&nl, 1};
        }
    }
    return n;
}

void SendQueue::consume(size_t n, BlockCache *cache) {
    bytes_ -= n;
    while (n && head_) {
        Seg *s = head_;
        size_t have = s->end - s->off;
        if (n < have) {
            s->off += n;
            return;
        }
        n -= have;
        head_ = s->next;
        if (!head_) tail_ = nullptr;
        drop(s, cache);
    }
}

void SendQueue::clear(BlockCache *cache) {
    while (head_) {
        Seg *s = head_;
        head_ = s->next;
        drop(s, cache);
    }
    tail_ = nullptr;
    bytes_ = 0;
}

} // namespace iocpnet
