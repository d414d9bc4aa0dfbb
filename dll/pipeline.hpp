// The byte pipeline of one connection, between the backend and the user:
//
//   receive:  backend bytes -> [layer] -> framing decoder | ws::Session -> on_data
//   send:     user payload  -> framing | ws frame (masked) -> [layer] -> send queue -> backend
//
// A Layer is a transform that sits between the socket and the framing and
// knows only its two neighbours (TLS): bytes from the network go up through
// it, payload bytes go down through it into the send queue, and it may queue
// bytes of its own (handshakes, alerts, close_notify). WebSocket framing sits
// above the layer, in the decoder's place (wss = a TLS layer under it): its
// own bytes (the HTTP handshake, control frames) go down through the layer
// too, by send_raw. A connection without a layer hands received bytes
// straight to the decoder and queues framed payloads as they are (shared
// payloads of send_many stay shared); the state machine in connection.cpp
// only ever talks to Pipeline.
#pragma once
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <memory>

#include "bytebuf.hpp"
#include "framing.hpp"
#include "sendq.hpp"
#include "ws/session.hpp"

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
//
// Size. A Pipeline lives in every connection slot, so what only a TLS or
// WebSocket connection needs (the layer, the session) sits in an Ext
// allocated for those alone, and held bytes in a buffer allocated only
// while a paused receiver leaves some: a plain connection pays three words
// and the decoder, and its per-message checks look at `ext_` only.
class Pipeline {
  public:
    Pipeline() = default;
    Pipeline(const Pipeline &) = delete;
    Pipeline &operator=(const Pipeline &) = delete;

    // client: this side connected (a WebSocket client masks and sends the
    // Upgrade request). The layer is not owned: its connection frees it
    // after a reset. False on no memory for a TLS or WebSocket connection's
    // state: the pipeline is then a plain RAW one and knows no layer.
    bool reset(uint32_t framing, uint32_t max_message, Layer *layer = nullptr, bool client = false);
    uint32_t framing() const { return dec_.framing(); }
    bool holding() const { return held_ != nullptr; }
    // WebSocket framing: the protocol state above the layer, in the
    // decoder's place (ws_conn.cpp feeds it); NULL for the other framings.
    ws::Session *ws() const { return ext_ ? ext_->ws.get() : nullptr; }
    // Whether the user has heard of the connection (on_accept / on_connect
    // OK): a WebSocket connection is announced after its handshake. Owner only.
    bool announced() const { return !ext_ || ext_->announced; }
    void set_announced() {
        if (ext_) ext_->announced = true;
    }
    Layer *layer() const { return ext_ ? ext_->layer : nullptr; }
    // A payload goes to the wire as framed, unchanged (no layer, no
    // WebSocket client masking): it may be written from the caller's buffer.
    bool direct() const { return !ext_ || (!ext_->layer && !ext_->ws->client()); }

    // WebSocket: bytes above the layer to the session, held like the
    // decoder's while the receiver is paused (the session stops at a frame
    // boundary when Events::ready is false). p is the engine's own buffer
    // (the session may unmask in place: ws::Session::feed).
    int ws_deliver(uint8_t *p, size_t n, ws::Events &ev) {
        if (held_) return hold(p, n);
        size_t used = 0;
        int rc = ext_->ws->feed(p, n, ev, &used);
        if (rc == IOCPNET_OK && used < n) rc = hold(p + used, n - used);
        return rc;
    }
    int ws_resume(ws::Events &ev) {
        if (!held_) return IOCPNET_OK;
        size_t used = 0;
        int rc = ext_->ws->feed(held_->data(), held_->size(), ev, &used);
        if (rc != IOCPNET_OK) used = held_->size();
        unhold(used);
        return rc;
    }

    // Payload bytes queued and not yet sent: what max_send_queue_bytes and
    // the stats count (with a layer, not what the queue holds on the wire).
    size_t queued(const SendQueue &q) const { return ext_ && ext_->layer ? ext_->layer->queued(q) : q.bytes(); }
    // n bytes of the queue's front were sent: how many payload bytes that was.
    size_t sent(size_t n) { return ext_ && ext_->layer ? ext_->layer->sent(n) : n; }

    // Received bytes -> emit(const uint8_t *, size_t) -> bool per message,
    // while ready() (the receiver is not paused); the rest is held.
    // IOCPNET_OK or the error that ends the connection (MESSAGE_TOO_LARGE, a
    // layer's error). Owner thread, no lock held.
    template <class Ready, class Emit> int recv(const uint8_t *p, size_t n, Ready &&ready, Emit &&emit) {
        Layer *layer = this->layer();
        if (!layer) return deliver(p, n, ready, emit);
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
        int rc = layer->recv(p, n, up);
        return rc != IOCPNET_OK ? rc : up.rc;
    }

    template <class Emit> int recv(const uint8_t *p, size_t n, Emit &&emit) {
        return recv(p, n, [] { return true; }, emit);
    }

    // Delivers held bytes after a resume, as far as ready() allows, in
    // slices no larger than one read (RAW on_data stays within kSlice).
    template <class Ready, class Emit> int resume(Ready &&ready, Emit &&emit) {
        static constexpr size_t kSlice = 64 * 1024;
        if (!held_) return IOCPNET_OK;
        size_t used = 0, size = held_->size();
        int rc = IOCPNET_OK;
        while (rc == IOCPNET_OK && used < size) {
            size_t n = size - used < kSlice ? size - used : kSlice, got = 0;
            rc = dec_.feed(held_->data() + used, n, ready, emit, &got);
            used += got;
            if (got < n) break; // paused again, or closed
        }
        unhold(used);
        return rc;
    }

    // The frame this connection's framing puts around a payload (see frame_for).
    int frame(const void *data, size_t len, Frame *f) const {
        return ext_ && ext_->ws ? ext_->ws->frame(len, f) : frame_for(dec_.framing(), data, len, f);
    }
    int frame(const IoVec *parts, size_t n, size_t len, Frame *f) const {
        return ext_ && ext_->ws ? ext_->ws->frame(len, f) : frame_for(dec_.framing(), parts, n, len, f);
    }

    // Queues one framed payload; all or nothing. sp: the payload shared with
    // other receivers (send_many) or NULL. False on no memory.
    // A layer transforms the payload, so it is never shared below one.
    bool send(const Frame &f, const void *data, size_t len, SharedPayload *sp, SendQueue &q, BlockCache *cache) {
        if (direct()) return q.append(f, data, len, sp, cache);
        IoVec part{data, len};
        return send(f, &part, 1, q, cache);
    }
    // The same for a payload in n parts (always copied).
    bool send(const Frame &f, const IoVec *parts, size_t n, SendQueue &q, BlockCache *cache) {
        if (!ext_) return q.append(f, parts, n, cache);
        if (ext_->ws && ext_->ws->client()) return send_masked(f, parts, n, q, cache);
        if (!ext_->layer) return q.append(f, parts, n, cache);
        return ext_->layer->send(f, parts, n, q, cache) == IOCPNET_OK;
    }

    // Bytes as they are (a WebSocket handshake, a control frame), below the
    // framing and above the layer. False on no memory.
    bool send_raw(const uint8_t *p, size_t n, SendQueue &q, BlockCache *cache) {
        Layer *layer = this->layer();
        if (!layer) return q.append(Frame{}, p, n, nullptr, cache);
        IoVec part{p, n};
        return layer->send(Frame{}, &part, 1, q, cache) == IOCPNET_OK;
    }

  private:
    // A client masks every payload (RFC 6455 5.3): the payload is copied,
    // masked, in chunks; the header carries the key and goes with the first
    // chunk (below a layer each chunk becomes its own TLS record: a header
    // alone would cost one).
    bool send_masked(const Frame &f, const IoVec *parts, size_t n, SendQueue &q, BlockCache *cache) {
        uint8_t buf[16384];
        memcpy(buf, f.head, f.head_len);
        size_t fill = f.head_len, off = 0;
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = static_cast<const uint8_t *>(parts[i].base);
            for (size_t at = 0; at < parts[i].len;) {
                size_t room = sizeof buf - fill, left = parts[i].len - at;
                size_t m = left < room ? left : room;
                ws::Session::mask(f, buf + fill, p + at, m, off);
                fill += m, at += m, off += m;
                if (fill == sizeof buf) {
                    if (!send_raw(buf, fill, q, cache)) return false;
                    fill = 0;
                }
            }
        }
        return !fill || send_raw(buf, fill, q, cache);
    }

    template <class Ready, class Emit> int deliver(const uint8_t *p, size_t n, Ready &ready, Emit &emit) {
        if (held_) return hold(p, n); // older bytes wait: these go behind them
        size_t used = 0;
        int rc = dec_.feed(p, n, ready, emit, &used);
        if (rc == IOCPNET_OK && used < n) rc = hold(p + used, n - used);
        return rc;
    }

    // Keeps received bytes a paused receiver did not take, behind those held
    // already. IOCPNET_OK or IOCPNET_E_NO_MEMORY (which ends the stream).
    int hold(const uint8_t *p, size_t n);
    // The first `used` held bytes were delivered; an empty buffer is freed (a
    // paused peer's burst is not kept for good, and holding() is held_ != NULL).
    void unhold(size_t used);

    // What only a TLS or WebSocket connection has (see the class comment).
    struct Ext {
        Layer *layer = nullptr;          // TLS; not owned
        std::unique_ptr<ws::Session> ws; // WebSocket framing
        bool announced = true;           // see announced()
    };

    Decoder dec_;
    std::unique_ptr<ByteBuf> held_; // NULL unless bytes are held
    std::unique_ptr<Ext> ext_;      // NULL for a plain connection
};

} // namespace iocpnet
