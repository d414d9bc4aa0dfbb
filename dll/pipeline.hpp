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
#include <memory>

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
    // IOCPNET_OK or an IOCPNET_E_* that closes the connection.
    virtual int recv(const uint8_t *p, size_t n, Up &up) = 0;
    // Payload bytes out, transformed into out (the connection's lock held).
    virtual int send(const uint8_t *p, size_t n, SendQueue &out) = 0;
    // Moves the layer's own pending bytes into out (the connection's lock held).
    virtual bool take_output(SendQueue &out) = 0;
};

class Pipeline {
  public:
    // client: this side connected (a WebSocket client masks and sends the
    // Upgrade request).
    void reset(uint32_t framing, uint32_t max_message, Layer *layer = nullptr, bool client = false) {
        framing_ = uint8_t(framing);
        dec_.reset(framing, max_message);
        layer_ = layer;
        ws_.reset(framing == IOCPNET_FRAMING_WEBSOCKET ? new ws::Session(client, max_message) : nullptr);
        announced_ = !ws_;
    }
    uint32_t framing() const { return framing_; }
    // WebSocket framing: the protocol state above the layer (ws_conn.cpp
    // feeds it instead of the decoder); NULL for the other framings.
    ws::Session *ws() const { return ws_.get(); }
    // Whether the user has heard of the connection (on_accept / on_connect
    // OK): a WebSocket connection is announced after its handshake. Owner only.
    bool announced() const { return announced_; }
    void set_announced() { announced_ = true; }
    Layer *layer() const { return layer_; }

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
    int frame(const void *data, size_t len, Frame *f) const {
        return ws_ ? ws_->frame(len, f) : frame_for(framing_, data, len, f);
    }

    // Queues one framed payload; all or nothing. sp: the payload shared with
    // other receivers (send_many) or NULL. False on no memory.
    bool send(const Frame &f, const void *data, size_t len, SharedPayload *sp, SendQueue &q, BlockCache *cache) {
        if (ws_ && ws_->client()) return send_masked(f, static_cast<const uint8_t *>(data), len, q, cache);
        if (!layer_) return q.append(f, data, len, sp, cache);
        static const uint8_t nl = '\n';
        return layer_->send(f.head, f.head_len, q) == IOCPNET_OK &&
               layer_->send(static_cast<const uint8_t *>(data), len, q) == IOCPNET_OK &&
               (!f.tail_len || layer_->send(&nl, 1, q) == IOCPNET_OK);
    }

    // Bytes as they are (a WebSocket handshake, a control frame), below the
    // framing and above the layer. False on no memory.
    bool send_raw(const uint8_t *p, size_t n, SendQueue &q, BlockCache *cache) {
        if (layer_) return layer_->send(p, n, q) == IOCPNET_OK;
        return q.append(Frame{}, p, n, nullptr, cache);
    }

  private:
    // A client masks every payload (RFC 6455 5.3): the payload is copied,
    // masked, in chunks; the header carries the key.
    bool send_masked(const Frame &f, const uint8_t *p, size_t len, SendQueue &q, BlockCache *cache) {
        if (!send_raw(f.head, f.head_len, q, cache)) return false;
        uint8_t buf[4096];
        for (size_t off = 0; off < len;) {
            size_t n = len - off < sizeof buf ? len - off : sizeof buf;
            ws::Session::mask(f, buf, p + off, n, off);
            if (!send_raw(buf, n, q, cache)) return false;
            off += n;
        }
        return true;
    }

    Decoder dec_;
    Layer *layer_ = nullptr;
    std::unique_ptr<ws::Session> ws_;
    bool announced_ = true;
    uint8_t framing_ = IOCPNET_FRAMING_RAW;
};

} // namespace iocpnet
