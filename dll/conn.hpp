// One connection: its state machine, send queue and callback ordering; and
// the id table that maps 64-bit ids to connection slots.
#pragma once
#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include "backend/backend.hpp"
#include "framing.hpp"
#include "sendq.hpp"

namespace iocpnet {

struct Port;

// Options resolved for one connection (config + listener/connect options).
struct ConnOpts {
    uint32_t framing = IOCPNET_FRAMING_RAW;
    uint32_t max_message = 1u << 20;
    uint32_t idle_ms = 0, connect_ms = 0, keepalive_s = 0;
    bool nodelay = true;
};

// Slots are never freed while the port lives, only recycled with a new
// generation: a stale id finds a slot whose id differs, never freed memory.
struct Conn {
    std::mutex mu;     // everything below, except what cb_mu guards
    std::mutex cb_mu;  // held while a callback of this connection runs: serializes them
                       // on IOCP, where completions arrive on any worker
    uint64_t id = 0;   // 0 = free slot
    uint32_t slot = 0;
    uint64_t gen = 0;  // survives reuse: the next id of this slot uses gen + 1
    Port *port = nullptr;
    BSock *sock = nullptr;
    unsigned worker = 0;
    uint64_t listener = 0;
    ConnOpts opts;
    void *user = nullptr;

    bool connecting = false;   // until the connect completion
    bool connected = false;    // the socket may carry data
    bool closing = false;      // no longer visible to the user (NOT_FOUND)
    bool abort = false;        // drop the queue, reset
    bool cancelled = false;    // backend cancel() issued
    bool wr_shut = false;      // graceful: write side shut after the flush
    bool recv_on = false, send_on = false;
    bool pump_queued = false;  // a pump task waits in the owner's mailbox
    bool want_drain = false;   // a send got WOULD_BLOCK
    bool notify_close = false; // on_close is owed (false for a failed connect)
    bool close_cb_done = false;
    bool dead = false;         // on_close (or a failed on_connect) has returned: the user is told
    bool connect_timed_out = false;
    int reason = IOCPNET_OK;
    uint32_t pending = 0;      // backend ops in flight + mailbox tasks naming this conn
    int64_t last_rx_ms = 0, connect_deadline = 0, close_deadline = 0;
    int64_t timer_at = 0;      // earliest deadline queued in the owner's timer heap; 0 = none

    // Cached once connected: after the peer's reset or FIN getpeername may
    // fail, and the addresses are promised until on_close returns.
    char peer_addr[IOCPNET_ADDRSTRLEN] = "", local_addr[IOCPNET_ADDRSTRLEN] = "";

    SendQueue q;
    IoVec iov[64];
    Decoder dec;               // touched only under cb_mu (recv completions)

    void reset_for_reuse();
    bool visible() const { return id != 0 && !closing; }
};

class ConnTable {
  public:
    static constexpr uint32_t kChunk = 1024, kMaxChunks = 16384; // 16M slots
    ConnTable() { for (auto &c : chunks_) c.store(nullptr, std::memory_order_relaxed); }
    ~ConnTable();
    // A free slot with a fresh id (its mu locked by the caller afterwards).
    Conn *alloc(uint64_t *id_out);
    void release(Conn *c); // c->mu held by the caller; the slot is reusable afterwards
    // The slot an id names, or NULL; the caller locks c->mu and compares c->id.
    Conn *slot_of(uint64_t id) const;
    uint32_t slots_used() const { return next_.load(std::memory_order_acquire); }
    Conn *at(uint32_t index) const;

  private:
    std::atomic<Conn *> chunks_[kMaxChunks];
    std::mutex mu_;
    std::vector<uint32_t> free_;
    std::atomic<uint32_t> next_{0};
};

} // namespace iocpnet
