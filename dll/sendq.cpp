#include "sendq.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace iocpnet {

static constexpr size_t kBlock = 16 * 1024;

SharedPayload *SharedPayload::create(const void *p, size_t len, uint32_t refs) {
    void *mem = malloc(sizeof(SharedPayload) + (len ? len : 1));
    if (!mem) return nullptr;
    auto *sp = new (mem) SharedPayload;
    sp->refs.store(refs, std::memory_order_relaxed);
    sp->len = len;
    if (len) memcpy(sp->data(), p, len);
    return sp;
}

void SharedPayload::unref() {
    if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        this->~SharedPayload();
        free(this);
    }
}

bool SendQueue::append_copy(const void *p, size_t len) {
    if (!len) return true;
    auto *src = static_cast<const uint8_t *>(p);
    if (!segs_.empty()) { // fill the tail block; its sent bytes never move
        Seg &t = segs_.back();
        if (t.own && t.end < t.cap) {
            size_t take = t.cap - t.end < len ? t.cap - t.end : len;
            memcpy(t.own + t.end, src, take);
            t.end += take, bytes_ += take, src += take, len -= take;
            if (!len) return true;
        }
    }
    size_t cap = len > kBlock ? len : kBlock;
    auto *blk = static_cast<uint8_t *>(malloc(cap));
    if (!blk) return false;
    memcpy(blk, src, len);
    segs_.push_back(Seg{blk, nullptr, 0, len, cap});
    bytes_ += len;
    return true;
}

bool SendQueue::append_shared(SharedPayload *sp) {
    if (sp->len == 0) {
        sp->unref();
        return true;
    }
    segs_.push_back(Seg{nullptr, sp, 0, sp->len, sp->len});
    bytes_ += sp->len;
    return true;
}

unsigned SendQueue::gather(IoVec *iov, unsigned max) const {
    unsigned n = 0;
    for (auto it = segs_.begin(); it != segs_.end() && n < max; ++it) {
        const uint8_t *base = it->own ? it->own : it->sp->data();
        if (it->end > it->off) iov[n++] = IoVec{base + it->off, it->end - it->off};
    }
    return n;
}

void SendQueue::consume(size_t n) {
    bytes_ -= n;
    while (n && !segs_.empty()) {
        Seg &s = segs_.front();
        size_t have = s.end - s.off;
        if (n < have) {
            s.off += n;
            return;
        }
        n -= have;
        if (s.own) free(s.own);
        else s.sp->unref();
        segs_.pop_front();
    }
}

void SendQueue::clear() {
    for (Seg &s : segs_) {
        if (s.own) free(s.own);
        else s.sp->unref();
    }
    segs_.clear();
    bytes_ = 0;
}

} // namespace iocpnet
