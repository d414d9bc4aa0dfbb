// The port: configuration, worker threads, the per-worker mailboxes and
// timers, the id tables, stats and shutdown. Connection behaviour lives in
// conn.cpp; the C shim (api.cpp) only checks arguments and calls in here.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "backend/backend.hpp"
#include "conn.hpp"

struct iocpnet_port {}; // the public handle type; Port derives from it

namespace iocpnet {

struct Listener {
    uint64_t id = 0;
    BSock *sock = nullptr;
    ConnOpts opts;
    uint16_t port = 0;
    bool closing = false;
};

// Callbacks are swapped by pointer; old sets stay alive until destroy so a
// worker that loaded one can finish with it.
struct CallbackSet {
    iocpnet_callbacks cb;
    void *user;
};

struct Task {
    enum Kind : uint8_t { start, pump, close_cb, post, connect, listen, unlisten } kind;
    Conn *conn;          // start, pump, close_cb, connect
    uint64_t id;         // the conn / listener id the task was made for
    Listener *lst;       // listen, unlisten
    void(IOCPNET_CALL *fn)(void *);
    void *arg;
    Addr addr;           // connect
};

struct Worker {
    std::thread thread;
    std::mutex mu;                      // tasks and timers
    std::vector<Task> tasks;
    std::vector<std::pair<int64_t, Conn *>> timers; // min-heap on the deadline
};

int64_t now_ms();

struct Port : iocpnet_port {
    ~Port();
    int init(const iocpnet_config &cfg, const iocpnet_callbacks *cbs, void *user);
    int destroy();

    // --- threads
    bool on_worker() const;                     // the calling thread is one of ours
    bool can_submit(const Conn *c) const;       // may touch c's socket from this thread
    void push_task(unsigned w, const Task &t);  // to worker w's mailbox (+ wake)
    void worker_main(unsigned w);
    void run_tasks(unsigned w);
    void run_timers(unsigned w);
    void arm_timer(Conn *c, int64_t at);        // c->mu held
    int next_timeout(unsigned w);
    unsigned pick_worker() { return unsigned(rr_.fetch_add(1, std::memory_order_relaxed) % nworkers); }
    unsigned mailbox_of(unsigned w) const { return any_thread ? 0 : w; }

    // --- callbacks
    const CallbackSet *callbacks() const { return cbs_.load(std::memory_order_acquire); }
    void set_callbacks(const iocpnet_callbacks *cbs, void *user);

    // --- listeners
    int listen(const char *host, uint16_t tcp_port, const ConnOpts &o, uint64_t *out);
    int unlisten(uint64_t id);
    int listener_port(uint64_t id, uint16_t *out);
    void on_accept_completion(const Completion &c);

    // --- connections (conn.cpp)
    // The connection locked, or NULL (the caller unlocks): visible ones only,
    // or with until_dead also those closing whose on_close has not returned.
    Conn *lookup(uint64_t id, bool until_dead = false);
    int connect(const char *host, uint16_t tcp_port, const ConnOpts &o, uint64_t *out);
    int send(uint64_t id, const void *data, size_t len);
    int send_many(const uint64_t *ids, size_t count, const void *data, size_t len, int *results, size_t *queued);
    int close(uint64_t id, int mode);
    void begin_close(Conn *c, int reason, bool abort); // c->mu held
    void pump(Conn *c, std::unique_lock<std::mutex> &lk); // c->mu held; submits what is due
    void kick(Conn *c, std::unique_lock<std::mutex> &lk); // pump now or via the owner's mailbox
    void unref(Conn *c, std::unique_lock<std::mutex> &lk); // pending--, tears down when done
    void on_completion(const Completion &c);
    void on_conn_timer(Conn *c);
    void start_conn(Conn *c, uint64_t id);
    void start_connect(Conn *c, uint64_t id, const Addr &a);
    void deliver_close(Conn *c, uint64_t id);

    // --- state
    std::unique_ptr<Backend> be;
    bool any_thread = false;
    unsigned nworkers = 0;
    std::vector<std::unique_ptr<Worker>> workers;
    uint64_t max_queue = 4u << 20;
    uint32_t max_conns = 0;
    ConnOpts defaults;
    ConnTable conns;
    std::atomic<bool> stopping{false}, stop_workers{false};

    std::mutex lst_mu;
    std::map<uint64_t, Listener *> listeners;
    uint64_t next_listener = 1;
    std::condition_variable drained;  // destroy waits on it (with lst_mu)
    std::atomic<uint32_t> live_conns{0}, live_listeners{0};

    std::atomic<const CallbackSet *> cbs_{nullptr};
    std::mutex cbs_mu;
    std::vector<std::unique_ptr<CallbackSet>> cb_history;

    std::atomic<uint64_t> rr_{0};
    std::atomic<uint64_t> n_accepted{0}, n_connected{0}, n_closed{0}, rx_bytes{0}, tx_bytes{0};
    std::atomic<int64_t> queued_bytes{0};
};

// The worker the calling thread is, for one port (NULL elsewhere).
struct WorkerTls {
    Port *port = nullptr;
    unsigned index = 0;
};
extern thread_local WorkerTls t_worker;

} // namespace iocpnet
