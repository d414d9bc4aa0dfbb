// One WebSocket connection's protocol state (RFC 6455), between the bytes
// below (the socket, or TLS once it is a layer) and the messages above:
// the opening handshake (server: parse the Upgrade request and reply 101, or
// 400/404/a registered page; client: send the request, check the 101), then
// the frame decoder: fragments reassembled into one message bounded by
// max_message as a whole, text checked as UTF-8 across fragments, pings
// answered, a close answered and reported, every violation mapped to its
// close code. The session never touches the socket or a lock: what it must
// send and what it decides go out through Events.
//
// Threads: feed and the handshake run on the owner thread; frame() and
// close_frame() run under the connection's lock from any thread; the
// atomics are what both sides read.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "iocpnet/iocpnet.h"
#include "sendq.hpp"
#include "ws/handshake.hpp"
#include "ws/utf8.hpp"

namespace iocpnet {
namespace ws {

enum : uint8_t { kCont = 0, kText = 1, kBinary = 2, kClose = 8, kPing = 9, kPong = 10 };

constexpr size_t kMaxHead = 8192; // an opening handshake longer than this is refused

struct Events {
    virtual ~Events() = default;
    virtual bool ready() = 0;                              // false: the receiver paused; stop at a frame start
    virtual bool message(const uint8_t *p, size_t n) = 0;  // one whole message; false: stop feeding
    virtual void output(const uint8_t *p, size_t n) = 0;   // bytes this side must send, in order
    virtual bool upgraded() = 0;                           // handshake done; false: stop feeding
    // A plain GET on a server: fills *reply (a whole HTTP response).
    virtual void plain_get(const HttpHead &req, std::string *reply) = 0;
    virtual void end(int reason) = 0;                      // close gracefully after what was output
};

class Session {
  public:
    Session(bool client, uint32_t max_message);
    bool client() const { return client_; }
    bool open() const { return open_.load(std::memory_order_acquire); } // handshake done

    // Client: the Upgrade request to send first.
    std::string client_request(const std::string &host, const std::string &path);

    // Received bytes. IOCPNET_OK (also when Events::end was called), or
    // MESSAGE_TOO_LARGE / PROTOCOL: the peer broke the protocol (a server
    // before the upgrade has then output its 400 already), or NO_MEMORY (the
    // session takes nothing more); close_frame gives the close to send. *used: the bytes taken; fewer than n only when
    // ev.ready() turned false (the rest is for a later feed).
    // p is writable: a masked frame that arrived whole is unmasked in place
    // and delivered from there (no copy), so the bytes taken may be changed.
    int feed(uint8_t *p, size_t n, Events &ev, size_t *used);

    // The header of one outgoing data message of len bytes (type: send_type),
    // with the masking key at its end on a client (the payload must then be
    // masked, see mask). IOCPNET_OK.
    int frame(size_t len, Frame *f);
    // dst[i] = src[i] ^ key[(off + i) % 4], key from a client's frame head.
    static void mask(const Frame &f, uint8_t *dst, const uint8_t *src, size_t n, size_t off);

    // The close frame a graceful close with this reason sends first, or ""
    // (not upgraded yet, a close already sent, or the peer is gone).
    std::string close_frame(int reason);

    const HttpHead &request() const { return head_; } // valid once open()

    std::atomic<uint8_t> send_type{kBinary}; // kText or kBinary
    std::atomic<uint8_t> rx_type{0};         // type of the message being delivered
    // Owner only: when an unfinished opening handshake is dropped (the
    // worker's clock, ms); 0 = no deadline (see Port::ws_arm_upgrade).
    int64_t upgrade_deadline = 0;

  private:
    int handshake(const uint8_t *p, size_t n, size_t *used, Events &ev);
    int frames(uint8_t *p, size_t n, Events &ev, size_t *used);
    int violation(uint16_t code);
    int control(Events &ev);
    std::string encode(uint8_t op, const uint8_t *p, size_t n);
    uint32_t rand32();

    const bool client_;
    const uint32_t max_;
    std::atomic<bool> open_{false}, close_sent_{false};
    bool dead_ = false;                 // after a close or a violation: ignore the rest
    std::vector<uint8_t> hs_;           // the head so far
    HttpHead head_;
    std::string key_;                   // client: our Sec-WebSocket-Key
    uint16_t err_code_ = 1002;          // the close code of the last violation
    std::atomic<uint64_t> rng_{0};
    // frame decoder
    uint8_t h_[14] = {};
    unsigned have_ = 0, hlen_ = 2;
    uint64_t left_ = 0;                 // payload bytes left in this frame
    size_t koff_ = 0;                   // payload bytes of this frame seen (mask offset)
    uint8_t op_ = 0;
    bool fin_ = false, masked_ = false, in_payload_ = false;
    uint8_t msg_type_ = 0;              // 0: no message in progress
    std::vector<uint8_t> msg_, ctl_;
    Utf8 utf8_;
};

} // namespace ws
} // namespace iocpnet
