// The byte pipeline of one connection, between the backend and the user:
//
//   receive:  backend bytes -> [layer] -> framing decoder -> on_data
//   send:     user payload  -> framing -> [layer] -> send queue -> backend
//
// A Layer is a transform that sits between the socket and the framing and
// knows only its two neighbours (TLS, WebSocket framing): bytes from the
// network go up through it, payload bytes go down through it into the send
// queue, and it may queue bytes of its own (handshakes, control frames).
// A connection without a layer — every connection today — hands received
// bytes straight to the decoder and queues framed payloads as they are
// (shared payloads of send_many stay shared); the state machine in
// connection.cpp only ever talks to Pipeline, so a layer slots in here.
#pragma once
#include <cstddef>
#include <cstdint>

#include "framing.hpp"
#include "sendq.hpp"

namespace iocpnet {

struct Layer {
    virtual ~Layer() = default;
    struct Up {
        virtual bool put(const uint8_t *p, size_t n) = 0; // false: stop feeding
    };
    // Network bytes in (owner thread, no lock held: up runs user code);
    // what they decode to goes to up. Bytes the layer must send by itself
    // (handshake, control frames) wait inside it until take_output.
    // IOCPNET_OK or an IOCPNET_E_* that closes the connection. n may be 0:
    // the layer then delivers what it already holds.
    virtual int recv(const uint8_t *p, size_t n, Up &up) = 0;
    // One framed payload in n parts out, transformed into out (the
    // connection's lock held); all of it or an error.
    virtual int send(const Frame &f, const IoVec *parts, size_t n, SendQueue &out, BlockCache *cache) = 0;
    // Moves the layer's own pending bytes into out (the connection's lock held).
    virtual bool take_output(SendQueue &out) = 0;
    // What the queue bound and the stats count (the connection's lock held):
    // the payload bytes queued but not yet sent, and how many of them
    // `wire` bytes sent from the queue's front carried.
    virtual size_t queued(const SendQueue &q) const { return q.bytes(); }
    virtual size_t sent(size_t wire) { return wire; }
    virtual void dropped() {} // the queue was cleared
    // A graceful close or half-close begins: the layer's closing bytes go into out.
    virtual void close_notify(SendQueue &) {}
};

// Between the layer and the decoder sit the bytes that were read but not yet
// delivered because the receiver paused (iocpnet_pause_recv): they go to the
// decoder first when it resumes, so nothing is reordered.
class Pipeline {
  public:
    void reset(uint32_t framing, uint32_t max_message, Layer *layer = nullptr) {
        framing_ = uint8_t(framing);
        dec_.reset(framing, max_message);
        layer_ = layer;
        held_.clear();
        held_.shrink_to_fit();
    }
    uint32_t framing() const { return framing_; }
    bool holding() const { return !held_.empty(); }
    Layer *layer() const { return layer_; }

    // Payload bytes queued and not yet sent: what max_send_queue_bytes and
    // the stats count (with a layer, not what the queue holds on the wire).
    size_t queued(const SendQueue &q) const { return layer_ ? layer_->queued(q) : q.bytes(); }
    // n bytes of the queue's front were sent: how many payload bytes that was.
    size_t sent(size_t n) { return layer_ ? layer_->sent(n) : n; }

    // Received bytes -> emit(const uint8_t *, size_t) -> bool per message,
    // while ready() (the receiver is not paused); the rest is held.
    // IOCPNET_OK or the error that ends the connection (MESSAGE_TOO_LARGE, a
    // layer's error). Owner thread, no lock held.
    template <class Ready, class Emit> int recv(const uint8_t *p, size_t n, Ready &&ready, Emit &&emit) {
        if (!layer_) return deliver(p, n, ready, emit);
        struct ToDecoder : Layer::Up {
            Pipeline &pl;
            Ready &ready;
            Emit &emit;
            int rc = IOCPNET_OK;
            ToDecoder(Pipeline &p, Ready &r, Emit &e) : pl(p), ready(r), emit(e) {}
            bool put(const uint8_t *q, size_t m) override {
                rc = pl.deliver(q, m, ready, emit);
                return rc == IOCPNET_OK;
            }
        } up(*this, ready, emit);
        int rc = layer_->recv(p, n, up);
        return rc != IOCPNET_OK ? rc : up.rc;
    }

    template <class Emit> int recv(const uint8_t *p, size_t n, Emit &&emit) {
        return recv(p, n, [] { return true; }, emit);
    }

    // Delivers held bytes after a resume, as far as ready() allows, in
    // slices no larger than one read (RAW on_data stays within kSlice).
    template <class Ready, class Emit> int resume(Ready &&ready, Emit &&emit) {
        static constexpr size_t kSlice = 64 * 1024;
        if (held_.empty()) return IOCPNET_OK;
        size_t used = 0;
        int rc = IOCPNET_OK;
        while (rc == IOCPNET_OK && used < held_.size()) {
            size_t n = held_.size() - used < kSlice ? held_.size() - used : kSlice, got = 0;
            rc = dec_.feed(held_.data() + used, n, ready, emit, &got);
            used += got;
            if (got < n) break; // paused again, or closed
        }
        if (used == held_.size()) {
            held_.clear();
            held_.shrink_to_fit(); // a paused peer's burst is not kept for good
        } else {
            held_.erase(held_.begin(), held_.begin() + ptrdiff_t(used));
        }
        return rc;
    }

    // The frame this connection's framing puts around a payload (see frame_for).
    int frame(const void *data, size_t len, Frame *f) const { return frame_for(framing_, data, len, f); }
    int frame(const IoVec *parts, size_t n, size_t len, Frame *f) const { return frame_for(framing_, parts, n, len, f); }

    // Queues one framed payload; all or nothing. sp: the payload shared with
    // other receivers (send_many) or NULL. False on no memory.
    // A layer transforms the payload, so it is never shared below one.
    bool send(const Frame &f, const void *data, size_t len, SharedPayload *sp, SendQueue &q, BlockCache *cache) {
        if (!layer_) return q.append(f, data, len, sp, cache);
        IoVec part{data, len};
        return send(f, &part, 1, q, cache);
    }
    // The same for a payload in n parts (always copied).
    bool send(const Frame &f, const IoVec *parts, size_t n, SendQueue &q, BlockCache *cache) {
        if (!layer_) return q.append(f, parts, n, cache);
        return layer_->send(f, parts, n, q, cache) == IOCPNET_OK;
    }

  private:
    template <class Ready, class Emit> int deliver(const uint8_t *p, size_t n, Ready &ready, Emit &emit) {
        if (!held_.empty()) { // older bytes wait: these go behind them
            held_.insert(held_.end(), p, p + n);
            return IOCPNET_OK;
        }
        size_t used = 0;
        int rc = dec_.feed(p, n, ready, emit, &used);
        if (rc == IOCPNET_OK && used < n) held_.insert(held_.end(), p + used, p + n);
        return rc;
    }

    Decoder dec_;
    std::vector<uint8_t> held_;
    Layer *layer_ = nullptr;
    uint8_t framing_ = IOCPNET_FRAMING_RAW;
};

} // namespace iocpnet
