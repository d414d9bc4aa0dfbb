// Message framing: the receive-side decoders and the send-side encoding.
// The decoder never reserves memory from an announced length beyond
// max_message_size, and delivers a message straight from the receive buffer
// when it arrived whole (no copy on the common path).
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "bytebuf.hpp"
#include "iocpnet/iocpnet.h"
#include "sendq.hpp"

namespace iocpnet {

class Decoder {
  public:
    void reset(uint32_t framing, uint32_t max_message) {
        framing_ = uint8_t(framing);
        max_ = max_message;
        partial_.release();
        have_hdr_ = 0;
        need_ = 0;
    }
    uint32_t framing() const { return framing_; }
    // Feeds n received bytes; calls emit(const uint8_t*, size_t) -> bool for
    // every whole message (RAW: for the bytes as they are). Before each step
    // that may end in a message it asks ready(): when that is false (the
    // receiver paused) it stops with the rest unconsumed; it also stops after
    // a message for which emit returned false. *used: the bytes consumed.
    // Returns IOCPNET_OK, IOCPNET_E_MESSAGE_TOO_LARGE or IOCPNET_E_NO_MEMORY
    // (no room for a partial message).
    template <class Ready, class Emit> int feed(const uint8_t *p, size_t n, Ready &&ready, Emit &&emit, size_t *used) {
        const uint8_t *start = p;
        int rc = IOCPNET_OK;
        if (framing_ == IOCPNET_FRAMING_LENGTH_PREFIX) rc = feed_length(p, n, ready, emit);
        else if (framing_ == IOCPNET_FRAMING_LINE) rc = feed_line(p, n, ready, emit);
        else if (n && ready()) emit(p, n), p += n;
        *used = size_t(p - start);
        return rc;
    }

    template <class Emit> int feed(const uint8_t *p, size_t n, Emit &&emit) {
        size_t used;
        return feed(p, n, [] { return true; }, emit, &used);
    }

  private:
    template <class Ready, class Emit> int feed_length(const uint8_t *&p, size_t n, Ready &ready, Emit &emit) {
        while (n && ready()) {
            if (have_hdr_ < 4) {
                size_t take = size_t(4 - have_hdr_) < n ? size_t(4 - have_hdr_) : n;
                memcpy(hdr_ + have_hdr_, p, take);
                have_hdr_ = uint8_t(have_hdr_ + take), p += take, n -= take;
                if (have_hdr_ < 4) return IOCPNET_OK;
                need_ = uint32_t(hdr_[0]) << 24 | uint32_t(hdr_[1]) << 16 | uint32_t(hdr_[2]) << 8 | hdr_[3];
                if (need_ > max_) return IOCPNET_E_MESSAGE_TOO_LARGE;
                if (need_ == 0) {
                    have_hdr_ = 0;
                    if (!emit(p, 0)) return IOCPNET_OK;
                    continue;
                }
            }
            if (partial_.empty() && n >= need_) { // whole message in this buffer
                const uint8_t *msg = p;
                size_t len = need_;
                p += len, n -= len, have_hdr_ = 0;
                if (!emit(msg, len)) return IOCPNET_OK;
                continue;
            }
            size_t take = need_ - partial_.size() < n ? need_ - partial_.size() : n;
            if (!partial_.append(p, take)) return IOCPNET_E_NO_MEMORY; // grows only with bytes received
            p += take, n -= take;
            if (partial_.size() == need_) {
                have_hdr_ = 0;
                bool go = emit(partial_.data(), partial_.size());
                partial_.clear();
                if (!go) return IOCPNET_OK;
            }
        }
        return IOCPNET_OK;
    }

    template <class Ready, class Emit> int feed_line(const uint8_t *&p, size_t n, Ready &ready, Emit &emit) {
        while (n && ready()) {
            const uint8_t *nl = static_cast<const uint8_t *>(memchr(p, '\n', n));
            if (!nl) {
                // A trailing '\r' may still be dropped, so allow max_ + 1 bytes.
                if (partial_.size() + n > size_t(max_) + 1) return IOCPNET_E_MESSAGE_TOO_LARGE;
                if (!partial_.append(p, n)) return IOCPNET_E_NO_MEMORY;
                p += n;
                return IOCPNET_OK;
            }
            size_t chunk = size_t(nl - p);
            const uint8_t *line = p;
            size_t len = chunk;
            if (!partial_.empty()) {
                if (partial_.size() + chunk > size_t(max_) + 1) return IOCPNET_E_MESSAGE_TOO_LARGE;
                if (!partial_.append(p, chunk)) return IOCPNET_E_NO_MEMORY;
                line = partial_.data(), len = partial_.size();
            }
            if (len && line[len - 1] == '\r') --len;
            if (len > max_) return IOCPNET_E_MESSAGE_TOO_LARGE;
            p = nl + 1, n -= chunk + 1;
            bool go = emit(line, len);
            partial_.clear();
            if (!go) return IOCPNET_OK;
        }
        return IOCPNET_OK;
    }

    // Packed: the decoder sits in every connection slot (connection.hpp).
    ByteBuf partial_;
    uint32_t max_ = 0;
    uint32_t need_ = 0;
    uint8_t hdr_[4] = {};
    uint8_t have_hdr_ = 0; // 0..4
    uint8_t framing_ = IOCPNET_FRAMING_RAW;
};

// The Frame of one payload on the send side: LENGTH_PREFIX a 4-byte
// big-endian header, LINE a "\n". Returns IOCPNET_OK, or INVALID_ARG / LIMIT
// for a payload the framing cannot carry.
int frame_for(uint32_t framing, const void *data, size_t len, Frame *out);
// The same for a payload in n parts of len bytes in all.
int frame_for(uint32_t framing, const IoVec *parts, size_t n, size_t len, Frame *out);

} // namespace iocpnet
