// One connection: its life as an explicit state machine, its send queue and
// byte pipeline, its timers. Behaviour is in connection.cpp (requests from
// any thread, and the owner's drive loop) and connection_io.cpp (completions
// and timers).
//
// Threads. Every connection has one owner worker. Only the owner touches its
// socket, runs its callbacks and changes `wire`; other threads change `life`
// (a close), the queue and the user pointer under `mu`, and hand the rest to
// the owner through its mailbox (a drive task). No lock is held while a
// callback runs, so a callback may call anything, on any connection.
//
// Life (what the user sees):
//
//   state        visible*  events and what they do
//   free            -      alloc by connect          -> connecting
//                          alloc by accept           -> accepted
//   connecting     yes     connect done OK           -> open, on_connect(OK)
//                          connect done error        -> connect_failing, on_connect(err) task
//                          close / destroy / timeout -> connect_failing (reason), wire cut
//   connect_failing no     connect done              -> its on_connect(reason) task queued
//                          that task                 -> closed, on_connect(reason)
//   accepted       no      start task                -> open, on_accept
//                          destroy                   -> closed (never told: no callback)
//   open           yes     recv data                 -> on_data (per message), or held while paused
//                          pause / resume            -> recv stopped / resume task: held bytes, then reading
//                          peer's FIN, half_open     -> on_peer_shutdown (after held bytes)
//                          queue fell to half        -> on_drain (after a WOULD_BLOCK)
//                          close / destroy / EOF / error / idle timeout / framing error
//                                                    -> closing (reason), on_close task queued
//   closing        no      on_close task             -> closed, on_close(reason)
//   closed         no      last reference dropped    -> free (socket released)
//   * visible: send, close, set_user find it; get_user and the address calls
//     also work in connect_failing and closing, and during the last callback.
//   With TLS (tls/tls_flow.cpp) a handshake (`hs`) runs first, reading and
//   sending while still accepted / connecting: connect done OK or the start
//   task begin it; its end -> open, on_connect(OK) / on_accept; its failure
//   -> connect_failing, on_connect(TLS) task / closed without a callback
//   (the alert flushed); its deadline -> as a connect timeout / dropped.
//   WebSocket (ws_conn.cpp): on_accept / on_connect(OK) wait for the
//   upgrade; until then the connection is open but unannounced, no other
//   callback runs for it, and its close reports nothing (a server) or
//   on_connect(reason) (a client). A graceful close of an upgraded one
//   queues a close frame first.
//   Both (wss): the TLS handshake, then the upgrade over it (open but
//   unannounced), then on_accept / on_connect(OK); a graceful close queues
//   the close frame, then close_notify.
//
// Wire (what the socket does; owner only, except the request to cut):
//   live -> flushing (graceful: send what is queued) -> lingering (write side
//   shut; read and discard until the peer's EOF) -> done; any of them ->
//   cutting (abort, error, close deadline: cancel everything now) -> done.
//   live -> shut (shutdown_write: the queue went out, then the FIN; still
//   reading while open) -> lingering on close, or at once when the peer's FIN
//   had come (half_open).
//
// Incarnations. A slot is reused under a new id; every task and timer names
// the id it was made for and is dropped when the slot's id differs. Each
// operation in flight and each queued task holds a reference (`refs`); the
// slot is released only once life is closed and refs is 0, so no completion
// ever finds its memory reused.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

#include "backend/backend.hpp"
#include "pipeline.hpp"
#include "sendq.hpp"
#include "tls/tls.hpp"

namespace iocpnet {

// Options resolved for one connection (config + listener/connect options),
// as connect and accept use them; the slot keeps only ConnKept.
struct ConnOpts {
    uint32_t max_message = 1u << 20;
    uint32_t idle_ms = 0, connect_ms = 0, keepalive_s = 0;
    uint8_t framing = IOCPNET_FRAMING_RAW;
    bool nodelay = true;
    bool half_open = false;
    std::string ws_host, ws_path; // WEBSOCKET client: Host header ("" = host:port) and path
    TlsConfig *tls = nullptr;          // TLS (a listener holds a reference; a connection's session does)
    const char *server_name = nullptr; // connect only: valid during the call
};

// What a connection reads of its options after its setup (the rest of
// ConnOpts is applied by connect / accept and not kept: every byte of a
// slot is paid by every idle connection).
struct ConnKept {
    uint32_t idle_ms = 0, connect_ms = 0;
    bool half_open = false;
    ConnKept &operator=(const ConnOpts &o) {
        idle_ms = o.idle_ms, connect_ms = o.connect_ms, half_open = o.half_open;
        return *this;
    }
};

enum class Life : uint8_t { free, connecting, connect_failing, accepted, open, closing, closed };
enum class Wire : uint8_t { live, shut, flushing, lingering, cutting, done };

// Operations in flight (owner only; each holds a reference), and a recv
// that was asked to stop (a pause).
enum : uint8_t { kOpRecv = 1, kOpSend = 2, kOpConnect = 4, kOpRecvStopping = 8 };

// How the receive side of an open connection ended, kept while received
// bytes wait for a resume (they are delivered first). Owner only.
enum class RecvEnd : uint8_t { none, eof, error };

// The slot: one per connection, idle or not, so its size is the engine's
// idle memory per connection (bench/idle_memory.py). Fields are ordered to
// leave no padding; state only TLS or WebSocket needs lives behind the
// pipeline's Ext pointer (pipeline.hpp). The size is held by a
// static_assert below the struct.
struct Conn {
    // What a message's way through the engine touches comes first (about
    // three cache lines), what setup, close and queries use after it.
    std::mutex mu;                       // life, wire (when others write it), q, user, the request bits
    std::atomic<uint64_t> id{0};         // 0 = free; written under mu
    std::atomic<Life> life{Life::free};  // written under mu; the owner reads it without
    Wire wire = Wire::live;
    uint8_t ops = 0;                     // kOp* in flight
    bool drive_queued = false;           // a drive task waits in the owner's mailbox (mu)
    bool want_drain = false;             // a send got WOULD_BLOCK (mu)
    bool shut_wr = false;                // shutdown_write asked: sends refused, FIN after the queue (mu)
    bool peer_shut = false;              // a half_open connection's peer sent its FIN (mu)
    std::atomic<bool> paused{false};     // pause_recv; written under mu, read by the owner without
    RecvEnd recv_end = RecvEnd::none;    // owner: an end that waits behind held bytes
    bool hs = false;                     // owner only: a TLS handshake runs (life stays accepted /
                                         // connecting; see tls/tls_flow.cpp)
    uint16_t worker = 0;
    uint32_t inline_round = 0;           // owner: the worker round of its last inline write
    uint32_t refs = 0;                   // operations in flight + queued tasks (mu)
    int send_err = IOCPNET_OK;           // an inline write's error: the next send completion reports it (mu)
    ConnKept opts;
    int end_err = IOCPNET_OK;            // owner: the error of recv_end
    BSock *sock = nullptr;
    SendQueue q;
    Pipeline pipe;                       // owner only (its ws() and queued(): also under mu)
    int64_t last_rx_ms = 0;              // the worker's loop time of the last receive
    int64_t timer_at = 0;                // earliest entry in the owner's timer heap; 0 = none
    void *user = nullptr;
    uint64_t listener = 0;
    uint64_t gen = 0;                    // of the current or last id; the next uses gen + 1
    int64_t deadline = 0;                // connect or close deadline, by phase
    uint32_t slot = 0;
    int reason = IOCPNET_OK;             // of the close (mu)
    NetAddr peer, local;                 // known once connected; formatted on demand

    // The pipeline's TLS layer, or NULL: TlsSession is the only Layer. The
    // connection owns it; it is freed with the slot, under mu, after the
    // pipeline's reset (Port::unref).
    TlsSession *tls() const { return static_cast<TlsSession *>(pipe.layer()); }

    bool visible() const {
        Life l = life.load(std::memory_order_acquire);
        return l == Life::connecting || l == Life::open;
    }
    // Open and not paused: the next message may go up to on_data.
    bool takes_data() const {
        return !paused.load(std::memory_order_acquire) && life.load(std::memory_order_acquire) == Life::open;
    }
    // connect_failing and closing: the user may still read user data and addresses
    bool answers_queries() const {
        Life l = life.load(std::memory_order_acquire);
        return l != Life::free && l != Life::accepted && l != Life::closed;
    }
};

#if defined(__x86_64__) && defined(__linux__) && defined(__GLIBC__)
// Idle memory per connection must not regress (issue 14). The slot was 280
// bytes when 466 (io_uring) / 419 (epoll) bytes per idle connection were
// measured, 424 once TLS and WebSocket state joined it (613 / 563); 264
// now (449 / 399). Only x86-64 glibc is pinned (std::mutex is 40 bytes
// there; 232 on mingw-w64). State few connections use goes behind
// Pipeline::Ext, not here.
static_assert(sizeof(Conn) <= 264, "the connection slot grew (see the comment above Conn)");
#endif

} // namespace iocpnet
