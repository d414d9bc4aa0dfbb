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
    // One framed payload out, transformed into out (the connection's lock
    // held); all of it or an error.
    virtual int send(const Frame &f, const uint8_t *p, size_t n, SendQueue &out, BlockCache *cache) = 0;
    // Moves the layer's own pending bytes into out (the connection's lock held).
    virtual bool take_output(SendQueue &out) = 0;
    // What the queue bound and the stats count (the connection's lock held):
    // the payload bytes queued but not yet sent, and how many of them
    // `wire` bytes sent from the queue's front carried.
    virtual size_t queued(const SendQueue &q) const { return q.bytes(); }
    virtual size_t sent(size_t wire) { return wire; }
    virtual void dropped() {} // the queue was cleared
    // A graceful close begins: the layer's closing bytes go into out.
    virtual void close_notify(SendQueue &) {}
};

class Pipeline {
  public:
    void reset(uint32_t framing, uint32_t max_message, Layer *layer = nullptr) {
        framing_ = uint8_t(framing);
        dec_.reset(framing, max_message);
        layer_ = layer;
    }
    uint32_t framing() const { return framing_; }
    Layer *layer() const { return layer_; }

    // Payload bytes queued and not yet sent: what max_send_queue_bytes and
    // the stats count (with a layer, not what the queue holds on the wire).
    size_t queued(const SendQueue &q) const { return layer_ ? layer_->queued(q) : q.bytes(); }
    // n bytes of the queue's front were sent: how many payload bytes that was.
    size_t sent(size_t n) { return layer_ ? layer_->sent(n) : n; }

    // Received bytes -> emit(const uint8_t *, size_t) -> bool per message.
    // IOCPNET_OK or the error that ends the connection (MESSAGE_TOO_LARGE, a
    // layer's error). Owner thread, no lock held.
    template <class Emit> int recv(const uint8_t *p, size_t n, Emit &&emit) {
        if (!layer_) return dec_.feed(p, n, emit);
        struct ToDecoder : Layer::Up {
            Decoder &dec;
            Emit &emit;
            int rc = IOCPNET_OK;
            ToDecoder(Decoder &d, Emit &e) : dec(d), emit(e) {}
            bool put(const uint8_t *q, size_t m) override {
                rc = dec.feed(q, m, emit);
                return rc == IOCPNET_OK;
            }
        } up(dec_, emit);
        int rc = layer_->recv(p, n, up);
        return rc != IOCPNET_OK ? rc : up.rc;
    }

    // The frame this connection's framing puts around a payload (see frame_for).
    int frame(const void *data, size_t len, Frame *f) const { return frame_for(framing_, data, len, f); }

    // Queues one framed payload; all or nothing. sp: the payload shared with
    // other receivers (send_many) or NULL. False on no memory.
    bool send(const Frame &f, const void *data, size_t len, SharedPayload *sp, SendQueue &q, BlockCache *cache) {
        if (!layer_) return q.append(f, data, len, sp, cache);
        return layer_->send(f, static_cast<const uint8_t *>(data), len, q, cache) == IOCPNET_OK; // its own copy
    }

  private:
    Decoder dec_;
    Layer *layer_ = nullptr;
    uint8_t framing_ = IOCPNET_FRAMING_RAW;
};

} // namespace iocpnet
