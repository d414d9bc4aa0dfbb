// TLS as a layer of a connection's byte pipeline (see pipeline.hpp).
//
// TlsConfig is the public iocpnet_tls: a reference-counted, immutable
// configuration (certificates, trust, verification, ALPN) shared by every
// listener and connection that uses it. TlsSession is one connection's TLS
// state: a Layer between the backend and the framing. The provider (OpenSSL
// on Linux) lives in one .cpp per platform behind these two declarations;
// the handshake's place in the connection's life is in tls_flow.cpp.
//
// Threads and locks. A session is driven from two sides: the owner worker
// feeds it network bytes (handshake, recv: no connection lock held, since
// recv hands plaintext to user code), and any thread queues payloads (send,
// with the connection's lock). The provider's state is therefore guarded by
// the session's own mutex, always taken after the connection's lock and
// never held while user code runs. The plaintext accounting (queued, sent,
// dropped) is guarded by the connection's lock.
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

#include "../pipeline.hpp"
#include "iocpnet/iocpnet.h"

struct iocpnet_tls {}; // the public handle type; TlsConfig derives from it

namespace iocpnet {

struct TlsConfig : iocpnet_tls {
    std::atomic<uint32_t> refs{1};
    bool client = false;
    void *impl = nullptr; // the provider's context (SSL_CTX)
    std::string alpn_wire; // ALPN list in wire format (length-prefixed names)
    void ref() { refs.fetch_add(1, std::memory_order_relaxed); }
    void unref(); // frees with the last reference
};

// Creates a configuration from checked options (tls_api.cpp checks them).
int tls_config_create(const iocpnet_tls_options &o, TlsConfig **out);

class TlsSession : public Layer {
  public:
    enum Step { kMore, kDone, kFailed }; // handshake results

    // A session of cfg (which it references). Client: server_name is the
    // SNI and the name verified (copied; may be NULL).
    static int create(TlsConfig *cfg, const char *server_name, TlsSession **out);
    ~TlsSession() override;

    // Owner thread, no connection lock: feeds n network bytes (n may be 0:
    // the client's first call, which produces its hello) and advances the
    // handshake. Bytes to send wait inside until take_output.
    Step handshake(const uint8_t *p, size_t n);

    // Layer: after the handshake. recv returns IOCPNET_OK, IOCPNET_E_TLS
    // (broken record, fatal alert: error() says which) or
    // IOCPNET_E_PEER_CLOSED (the peer's close_notify).
    int recv(const uint8_t *p, size_t n, Up &up) override;
    // Encrypts (or, before the handshake is done, keeps) one framed payload.
    int send(const Frame &f, const IoVec *parts, size_t n, SendQueue &out, BlockCache *cache) override;
    // Moves the records waiting inside (handshake, alerts, tickets, payloads
    // kept during the handshake) into out. True if it moved any.
    bool take_output(SendQueue &out) override;
    // Plaintext accounting: the bytes the user queued that are not yet
    // sent, and how many of them `cipher` sent bytes of the queue's front
    // carried (exact in sum: the queue's last byte releases the rest).
    size_t queued(const SendQueue &q) const override;
    size_t sent(size_t cipher) override;
    void dropped() override;
    // A graceful close or half-close: queues close_notify (nothing after a
    // fatal error); nothing can be sent after it.
    void close_notify(SendQueue &out) override;

    bool client() const { return cfg_->client; }
    // IOCPNET_TLS_INFO_*; "" when not known. Any thread.
    std::string info(uint32_t what);
    // Records why the session failed when the provider could not say (EOF).
    void set_error(const char *why);

  private:
    TlsSession() = default;
    struct Impl;
    void capture_info_locked();       // after the handshake
    void capture_error_locked(int rc); // after a failed call
    size_t move_output_locked(SendQueue &out, BlockCache *cache); // cipher bytes moved
    bool encrypt_locked(const uint8_t *p, size_t n);

    TlsConfig *cfg_ = nullptr;
    Impl *impl_ = nullptr;
    std::mutex mu_;
    bool done_ = false, failed_ = false, shut_ = false;
    std::string pending_; // plaintext queued before the handshake finished
    std::string version_, cipher_, alpn_, subject_, error_;
    // Plaintext accounting (the connection's lock): plaintext whose records
    // are in the queue, the queue's bytes that are records, and plaintext
    // still kept in pending_.
    size_t plain_q_ = 0, cipher_q_ = 0, plain_pending_ = 0;
    uint8_t rd_[16384]; // owner thread: decrypted bytes on their way up
};

} // namespace iocpnet
