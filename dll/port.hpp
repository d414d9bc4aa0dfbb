// The port: configuration, worker threads with their mailboxes, timers and
// stats, the id tables (connections, listeners), the callbacks and
// shutdown. A connection's behaviour is in connection*.cpp, a listener's in
// listener.cpp; the C shim (api.cpp) only checks arguments and calls in here.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backend/backend.hpp"
#include "conn_table.hpp"
#include "connection.hpp"
#include "iocpnet/iocpnet.h"

struct iocpnet_port {}; // the public handle type; Port derives from it

namespace iocpnet {

struct Listener {
    enum class St : uint8_t { queued, accepting, cancelling, done }; // owner only
    uint64_t id = 0;
    BSock *sock = nullptr;
    ConnOpts opts;
    uint16_t port = 0;
    St st = St::queued;
    std::atomic<bool> closing{false}; // unlisten or destroy: accept nothing more
    std::atomic<uint32_t> tasks{0};   // queued tasks naming this listener
};

struct Task {
    enum Kind : uint8_t { start, drive, notify_close, connect, resume, conn_post, post, listen, unlisten, timer } kind;
    Conn *conn;        // start .. conn_post (one reference held)
    uint64_t id;       // the connection's id the task was made for; timer: the timer's
    Listener *lst;     // listen, unlisten (counted in lst->tasks)
    void(IOCPNET_CALL *fn)(void *);  // post
    iocpnet_conn_fn cfn;             // conn_post
    void *arg;
    int64_t at;        // timer: when it is due
    Addr addr;         // connect
};

// A user timer (iocpnet_timer_start). Its worker keeps a heap entry for the
// run due at `due`; entries of other runs, or of a stopped timer, are stale.
struct UserTimer {
    iocpnet_timer_fn fn;
    void *arg;
    uint64_t repeat_ms;
    int64_t due;
    unsigned worker;
    bool running = false, stopped = false;
};

struct CallbackSet {
    iocpnet_callbacks cb;
    void *user;
};

// Counters a worker alone writes (relaxed stores, no read-modify-write
// shared between threads); get_stats sums them.
struct alignas(64) WorkerStats {
    std::atomic<uint64_t> accepted{0}, connected{0}, closed{0}, rx{0}, tx{0};
    std::atomic<uint64_t> tls_failed{0}; // incoming TLS handshakes that failed or timed out
    std::atomic<int64_t> queued{0}; // send queue bytes of this worker's connections (any thread adds)
    static void add(std::atomic<uint64_t> &c, uint64_t n) { c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
};

struct TimerEntry {
    int64_t at;
    Conn *conn;  // NULL: a user timer
    uint64_t id; // the incarnation that armed it, or the user timer's id
    bool operator<(const TimerEntry &o) const { return at > o.at; } // min-heap
};

struct Worker {
    std::thread thread;
    std::mutex mu;                  // tasks, closed
    std::vector<Task> tasks;
    bool closed = false;            // the final drain ran: nothing is accepted any more
    // Owner thread only:
    std::vector<TimerEntry> timers;
    std::atomic<uint32_t> stale_timers{0}; // user timers stopped with an entry still in `timers`
    int64_t now = 0;                // loop time, refreshed after every wait
    uint32_t round = 0;             // loop iterations: a connection writes inline once per round
    IoVec iov[64];                  // send gather scratch
    CallbackSet cbs{};              // this worker's copy of the port's callbacks
    uint64_t cbs_version = 0;
    WorkerStats stats;
    BlockCache blocks;              // spare send-queue blocks of this worker's connections
    int64_t trim_in = -1;           // ms until blocks.trim has work again, -1: none
};

// What drive decided under a connection's lock, done on the socket after
// it is released (drive_plan / drive_do).
struct DriveActs {
    unsigned n = 0;         // iovecs of a send gathered into the worker's scratch
    bool shut = false, cancel = false, stop_recv = false;
    int64_t close_at = 0;   // arm the close deadline
};

struct WorkerTls {
    const void *port = nullptr;
    unsigned index = 0;
};
extern thread_local WorkerTls t_worker;

struct Port : iocpnet_port {
    ~Port();
    int init(const iocpnet_config &cfg, const iocpnet_callbacks *cbs, void *user);
    int destroy();

    // --- workers (port.cpp)
    bool on_worker() const { return t_worker.port == this; }
    bool on_owner(unsigned w) const { return t_worker.port == this && t_worker.index == w; }
    Worker &owner() { return *workers[t_worker.index]; } // the calling worker
    bool push_task(unsigned w, const Task &t); // false: that worker has stopped
    unsigned pick_worker() { return unsigned(rr_.fetch_add(1, std::memory_order_relaxed) % nworkers); }
    void worker_main(unsigned w);
    void run_tasks(std::vector<Task> &batch);
    void run_timers(Worker &wk);
    int next_timeout(Worker &wk) const;
    void arm_timer(Conn *c, int64_t at); // owner only
    int post(void(IOCPNET_CALL *fn)(void *), void *arg);

    // --- user timers (timers.cpp)
    int timer_start(uint64_t delay_ms, uint64_t repeat_ms, iocpnet_timer_fn fn, void *arg, uint64_t *out);
    int timer_stop(uint64_t id);
    void timer_fire(uint64_t id, int64_t at); // owner of the timer
    void timer_push(Worker &wk, uint64_t id, int64_t at);
    void timers_compact(Worker &wk);
    void timers_clear();
    void stats(iocpnet_stats *s) const;

    // --- callbacks: set from any thread, copied by each worker
    void set_callbacks(const iocpnet_callbacks *cbs, void *user);
    const CallbackSet &callbacks(); // on a worker

    // --- listeners (listener.cpp)
    int listen(const char *host, uint16_t tcp_port, const ConnOpts &o, uint64_t *out);
    int unlisten(uint64_t id);
    int listener_port(uint64_t id, uint16_t *out);
    void listener_task(const Task &t);
    void on_accept_completion(const Completion &c);
    void listener_maybe_free(Listener *l);

    // --- connections (connection.cpp, connection_io.cpp)
    int connect(const char *host, uint16_t tcp_port, const ConnOpts &o, uint64_t *out);
    int send(uint64_t id, const void *data, size_t len);
    int sendv(uint64_t id, const IoVec *parts, size_t n);
    int send_owned(uint64_t id, const void *data, size_t len, iocpnet_free_fn fn, void *arg);
    int shutdown_write(uint64_t id);
    int pause_recv(uint64_t id, bool pause);
    int queued_bytes(uint64_t id, uint64_t *out);
    int conn_post(uint64_t id, iocpnet_conn_fn fn, void *arg);
    int send_many(const uint64_t *ids, size_t count, const void *data, size_t len, int *results, size_t *queued);
    int close(uint64_t id, int mode);
    int set_user(uint64_t id, void *user);
    int get_user(uint64_t id, void **out);
    int address(uint64_t id, bool peer, char *buf, size_t len);
    // With c->mu held: the close decision (life and the wire request). True
    // when the owner must drive the connection.
    bool close_locked(Conn *c, int reason, bool abort);
    // c->mu held: has the owner drive c. On the owner it drives at once and
    // returns with lk released; elsewhere it queues a drive task (lk stays held).
    void request_drive(Conn *c, std::unique_lock<std::mutex> &lk);
    void queue_task(Conn *c, Task::Kind k); // c->mu held: a task for c's owner, one reference
    int queue_payload(Conn *c, const IoVec *parts, size_t n, size_t len, SharedPayload *sp); // c->mu held
    void drive(Conn *c);   // owner: does on the socket what the state calls for
    // drive in two halves, so that a caller that holds c->mu already (a send,
    // a completion) decides in the same critical section: plan with c->mu
    // held, then do with it released. Owner only.
    void drive_plan(Conn *c, Worker &wk, DriveActs &a);
    void drive_do(Conn *c, Worker &wk, const DriveActs &a);
    // c->mu held, on the owner: writes a framed payload straight from the
    // caller's buffers when nothing is queued or in flight and the backend
    // can (epoll). Returns the bytes written (the rest is queued by the
    // caller), or a negative IOCPNET_E_* send error (the caller queues all
    // of it and keeps the error in send_err for the send completion to report).
    long send_inline(Conn *c, const Frame &f, const IoVec *parts, size_t n);
    bool queue_rest(Conn *c, const Frame &f, const IoVec *parts, size_t n, size_t skip, BlockCache *cache);
    // A free slot, locked into *lk, with its pipeline set up for framing and
    // ts (which it then owns). NULL on no memory: ts is deleted and the slot,
    // never visible under an id, is back as it came.
    Conn *new_slot(uint32_t framing, uint32_t max_message, TlsSession *ts, bool client,
                   std::unique_lock<std::mutex> *lk);
    void unref(Conn *c);   // owner: drops one reference, releases the slot at the end
    void uncount_conn(); // live_conns--, waking destroy at the last one
    void drop_queue(Conn *c); // c->mu held: frees the queue and takes it out of the stats
    void conn_task(const Task &t);
    void on_completion(const Completion &c);
    void on_recv(Conn *c, const Completion &cp);
    void on_send(Conn *c, const Completion &cp);
    void on_connect(Conn *c, const Completion &cp);
    void on_timer(Conn *c);
    void start(Conn *c);
    void submit_connect(Conn *c, const Addr &a);
    void notify_close(Conn *c);
    void resume(Conn *c);                          // owner: delivers held bytes, reads on
    void end_recv(Conn *c, bool eof, int err);     // owner: the receive side ended
    void framing_error(Conn *c, uint64_t id, int rc);
    bool arm_recv(Conn *c); // false: not armed (no longer in a state that reads)
    void deliver(uint64_t id, const uint8_t *m, size_t n); // owner: on_data
    int feed(Conn *c, const uint8_t *p, size_t n); // received bytes up the pipeline to on_data

    // --- TLS handshakes (tls/tls_flow.cpp)
    bool tls_start(Conn *c, bool client); // false: the connection closed meanwhile
    void tls_recv(Conn *c, const Completion &cp);
    void tls_established(Conn *c);
    void tls_abandon(Conn *c);
    void tls_client_failed(Conn *c, int status);
    void tls_server_failed(Conn *c, bool graceful);
    int tls_info(uint64_t id, uint32_t what, char *buf, size_t len);

    // --- WebSocket (ws_conn.cpp)
    int ws_feed(Conn *c, const uint8_t *p, size_t n); // owner, no lock: the session's events
    int ws_resume(Conn *c); // owner, no lock: bytes held while paused
    bool ws_queue_locked(Conn *c, const uint8_t *p, size_t n); // c->mu held: bytes below the framing; false: no memory
    bool ws_close_frame_locked(Conn *c, int reason); // c->mu held: before a graceful close; false: no memory
    bool ws_unannounced_close(Conn *c, uint64_t id, int reason); // owner: on_close's stand-in before the upgrade
    // The opening handshake's deadline (connect_timeout_ms, or 10 s when 0),
    // armed when a WebSocket connection opens unannounced; owner.
    void ws_arm_upgrade(Conn *c);
    // on_timer's check of it (c->mu held): closes a connection whose upgrade
    // is overdue with TIMEOUT (*expired set: log it with ws_upgrade_expired
    // once the lock is released); returns when to look again, 0 for never.
    int64_t ws_upgrade_due_locked(Conn *c, int64_t now, bool *expired);
    void ws_upgrade_expired(Conn *c);
    int ws_set_send_type(uint64_t id, uint32_t type);
    int ws_message_type(uint64_t id, uint32_t *out);
    int ws_request(uint64_t id, const char *header, char *buf, size_t len);
    int ws_add_page(uint64_t listener, const char *path, const char *type, const void *body, size_t len);
    struct WsPage {
        std::string type, body;
    };
    std::map<std::pair<uint64_t, std::string>, WsPage> ws_pages; // (listener, path) -> page; lst_mu

    // --- state
    std::unique_ptr<Backend> be;
    bool send_now_ok = false; // be->sends_now(): sends try send_inline first
    unsigned nworkers = 0;
    std::vector<std::unique_ptr<Worker>> workers;
    uint64_t max_queue = 4u << 20;
    uint32_t max_conns = 0;
    ConnOpts defaults;
    ConnTable conns;
    std::atomic<bool> stopping{false};
    std::atomic<bool> stop_workers{false};
    std::atomic<uint32_t> live_conns{0}, live_listeners{0};

    std::mutex lst_mu; // listeners, next_listener, stopping's transition; destroy waits on `drained` with it
    std::map<uint64_t, Listener *> listeners;
    uint64_t next_listener = 1;
    std::condition_variable drained;

    std::mutex cbs_mu;
    CallbackSet cbs_;                       // the current set (cbs_mu)
    std::atomic<uint64_t> cbs_version_{1};

    std::atomic<uint64_t> rr_{0};

    std::mutex tm_mu; // user_timers, next_timer
    std::map<uint64_t, UserTimer> user_timers;
    uint64_t next_timer = 1;
};

} // namespace iocpnet
