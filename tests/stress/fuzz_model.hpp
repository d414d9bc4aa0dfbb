// The API fuzzer's model of one port (see api_fuzzer.cpp for what it checks,
// how to run it and which file holds what): the records of listeners and
// connections, the iteration's context, each thread's sender identity, the
// Actor that makes calls, and the functions the files share.
#pragma once

#include "fuzz_report.hpp"

namespace fuzz {

// ------------------------------------------------------------- messages
// (the format: fuzz_messages.cpp)

constexpr uint32_t kUnseq = 0xFFFFFFFFu; // an entry without a sequence number
struct Entry {
    uint64_t conn;
    uint32_t seq;
};
std::string make_data(uint32_t origin, const std::vector<Entry> &es, size_t len, Rng &rng, bool newline);
std::string make_hello(uint32_t origin, uint64_t conn, uint64_t listener, char role, uint32_t framing, Rng &rng);

// ------------------------------------------------------------ the model

enum Mode : int {
    VERIFIED = 0, // both ends are ours with the same framing: content is checked
    CHAOS = 1,    // random framing on the connect side, random bytes: only framing invariants
    PROBE = 2,    // a connect to a closed port: sends nothing
    MUTE = 3      // accepted by a listener unknown at on_accept time: sends nothing
};
const char *mode_name(int m);
const char *framing_name(uint32_t f);
constexpr uint32_t kUnknownFraming = 0xFF;

struct ListenerRec {
    uint64_t id = 0;
    uint16_t port = 0;
    const char *created_in = "";
    bool during_destroy = false; // listen returned after destroy had begun
    std::atomic<const char *> unlistened_in{nullptr};
    int mode = VERIFIED;
    uint32_t framing = 0, max = 1u << 20, idle = 0; // effective values
    std::atomic<int> unlisten_ok{0};
};

struct ConnRec {
    explicit ConnRec(uint64_t i) : id(i) {}
    const uint64_t id;
    std::atomic<bool> from_connect{false}, from_accept{false};
    // Configuration, written once before cfg becomes 2.
    std::atomic<int> cfg{0};
    int mode = MUTE;
    uint32_t framing = kUnknownFraming, max = 1u << 20, idle = 0, connect_to = 0;
    uint64_t listener = 0; // accepting listener, or the connect's target listener
    uint16_t target_port = 0;
    int raw_owner = -1;    // the one fuzz thread that sends data on a verified RAW connection
    bool client = false;
    // Life.
    std::atomic<int> busy{0};
    std::atomic<int> state{0}; // 0 unannounced, 1 open, 2 on_close entered, 3 failed on_connect entered
    std::atomic<bool> dead{false}; // its last callback returned
    std::atomic<int> n_accept{0}, n_connect{0}, n_close{0};
    std::atomic<int> close_calls{0}, close_ok{0};
    std::atomic<bool> close_ok_self{false};
    int connect_cb_destroy = -1; // destroy state when on_connect ran: 0 before, 1 during
    bool tolerated = false; // --disable unannounced: an on_close without announce, let through // close returned OK inside one of this connection's own callbacks
    std::atomic<bool> ready{false}; // hello queued: data may follow
    // Flow control (fuzz_flow.cpp). A pause made inside one of this
    // connection's callbacks forbids on_data until a resume began.
    std::atomic<bool> wr_shut{false};           // shutdown_write was called: sends may be WRITE_SHUTDOWN
    std::atomic<uint32_t> resumes_done{0}, resumes_inflight{0};
    bool self_paused = false;                   // inside its callbacks only
    uint32_t self_pause_mark = 0;
    std::atomic<uint32_t> wouldblocks{0}, drains{0};
    std::atomic<uint64_t> max_sent{0}; // longest message queued OK
    bool listed = false;               // in Ctx::live (Ctx::mu)
    int connect_status = 1, close_reason = 1;
    bool framing_error = false;
    // Receive side: touched only inside this connection's callbacks.
    std::string raw;
    size_t raw_off = 0;
    bool got_hello = false, recv_bad = false;
    uint64_t peer = 0;
    std::string bad_first;
    std::unordered_map<uint32_t, uint32_t> expect;
    uint64_t msgs = 0;
    char local[IOCPNET_ADDRSTRLEN] = "", remote[IOCPNET_ADDRSTRLEN] = "";
};

struct Ctx;
struct UserTag {
    Ctx *x;
    int v;
};
struct PostTok {
    std::atomic<int> ran{0};
    std::atomic<int> rc{1}; // 1 = post has not returned yet
};
struct ConnPostTok { // iocpnet_conn_post
    std::shared_ptr<ConnRec> rec;
    std::atomic<int> ran{0};
    std::atomic<int> rc{1};
};
struct TimerTok { // iocpnet_timer_start
    int64_t start_us = 0;
    uint64_t delay_ms = 0, repeat_ms = 0;
    std::atomic<uint64_t> id{0};
    std::atomic<int> runs{0}, busy{0}, rc{1};
    int stop_on_run = 0;     // the function stops its timer on this run (0: never)
    uint64_t resume = 0;     // a connection the function resumes (pause with a deadline)
};

struct Features {
    bool hook = true, race = true, idle = true, cb_listen = true, chaos = true;
    // After iocpnet_close returned OK on ANOTHER thread, no callback but
    // on_close may start (the header, read literally). Off by default: a
    // callback already being dispatched on a worker when the close comes can
    // only be excluded by serializing close() with the connection's callbacks.
    // The same check for a close made inside the connection's own callback
    // is always on.
    bool strict_close = false;
    bool addr = true; // strict address checks (off only to look past a known address defect)
    int only_framing = -1; // --framing raw|length|line: every listener uses it
    bool unannounced = true; // on_close for an id never announced is a violation (off: counted, to look past it)
};
extern Features g_feat;
extern bool g_verbose;

struct Ctx {
    uint64_t seed = 0, tag = 0;
    int iter = 0;
    iocpnet_port *port = nullptr;
    uint32_t expect_backend = 0; // 0 = any
    iocpnet_config cfg{};
    uint64_t max_queue = 4u << 20;
    int nthreads = 2;
    int hook_mode = -1; // -1 off; bit 0: the hook calls set_log, bit 1: get_user

    std::mutex mu; // everything below up to the atomics
    std::unordered_map<uint64_t, std::shared_ptr<ConnRec>> conns;
    std::vector<uint64_t> live, stale;
    std::vector<std::shared_ptr<ListenerRec>> listeners;
    std::unordered_map<uint64_t, std::shared_ptr<ListenerRec>> lst_by_id;
    std::unordered_map<uint16_t, int> port_uses;
    std::vector<uint16_t> closed_ports;

    static constexpr uint32_t kPosts = 1u << 15;
    std::unique_ptr<PostTok[]> posts{new PostTok[kPosts]};
    std::atomic<uint32_t> nposts{0};
    static constexpr uint32_t kConnPosts = 1u << 14, kTimers = 1u << 13;
    std::unique_ptr<ConnPostTok[]> cposts{new ConnPostTok[kConnPosts]};
    std::atomic<uint32_t> ncposts{0};
    std::unique_ptr<TimerTok[]> timers{new TimerTok[kTimers]};
    std::atomic<uint32_t> ntimers{0};
    std::atomic<uint64_t> owned_lent{0}, owned_freed{0};

    std::atomic<bool> destroy_started{false}, destroy_returned{false}, b_running{false}, b_done{false};
    std::atomic<int> racers{0};
    std::atomic<uint32_t> next_origin{1};
    UserTag tags[2];
    iocpnet_callbacks cbs[2];

    std::atomic<uint64_t> total_conns{0};
    // summary
    std::atomic<uint64_t> n_msgs{0}, n_bytes{0}, n_accepts{0}, n_connect_ok{0}, n_connect_fail{0}, n_closes{0},
        n_framing{0}, n_timeouts{0}, n_wb{0}, n_drains{0}, n_posts_run{0}, n_listens{0}, n_excused{0}, n_calls{0},
        n_hook{0}, n_tolerated{0}, n_flow{0}, n_timer_runs{0}, n_conn_posts_run{0};
};
extern std::atomic<Ctx *> g_ctx;

// A thread's identity as a sender: sequence numbers per destination.
struct Origin {
    uint64_t tag = 0;
    uint32_t id = 0;
    int fuzz = -1; // index of a fuzz thread, -1 on engine threads
    Rng rng;
    std::unordered_map<uint64_t, uint32_t> next;
    uint64_t stats_last[5] = {};
    // Connections whose last callback ran on this thread: dead for the model
    // once this thread runs its next callback (the last one has returned then).
    std::vector<std::shared_ptr<ConnRec>> dying;
};
Origin &origin(Ctx &x); // this thread's, renewed for each port

// ------------------------------------------------------------- registry
// (fuzz_model.cpp)

std::shared_ptr<ConnRec> find(Ctx &x, uint64_t id);
std::shared_ptr<ConnRec> get_or_create(Ctx &x, uint64_t id, bool *created);
void add_live(Ctx &x, ConnRec &r);
void set_final_state(Ctx &x, ConnRec &r, int st); // 2 or 3, and off the live list
// Called when an engine thread starts a callback or posted function.
Origin &enter_engine(Ctx &x);
size_t live_count(Ctx &x);

enum TKind { T_LIVE, T_STALE, T_ZERO, T_GARBAGE };
struct Target {
    uint64_t id = 0;
    std::shared_ptr<ConnRec> rec;
    TKind kind = T_ZERO;
};
uint64_t garbage_id(Rng &r);
// With `hot`, a live id is often one of the first few of the live list: many
// threads then send, send_many and close on the same connections at once.
Target pick_target(Ctx &x, Rng &rng, unsigned live_pct, bool hot = false);
std::shared_ptr<ListenerRec> pick_listener(Ctx &x, Rng &rng, bool live_only, int mode = -1);
size_t live_listeners(Ctx &x);

// The connection is known to be closing or closed: send, close and
// set_user must give NOT_FOUND. Read BEFORE the call.
bool known_closing(const ConnRec &r);

void *user_value(uint64_t id, unsigned k);
bool user_ok(uint64_t id, void *u);

// After destroy returned: every id's life, the verified pairs, the posts.
void final_checks(Ctx &x);
void dump_state(FILE *f); // the model, for die()'s report

// ------------------------------------------------------------- actors

struct Actor {
    Ctx &x;
    Origin &o;
    Rng &rng;
    bool in_cb;     // on an engine thread (callback, posted function)
    ConnRec *self;  // the connection whose callback this is, if any
    const char *where;
};

// fuzz_send_close.cpp
bool data_ok(const Actor &a, const ConnRec &r); // may a verified data message go to r from here?
uint32_t pick_max(Rng &r);                      // max_message_size option (0 = default 1 MiB)
uint32_t pick_idle_opt(Rng &r);
void send_hello(Actor &a, ConnRec &r);
void send_data(Actor &a, ConnRec &r, bool in_framing_error = false);
void act_send(Actor &a, ConnRec *target = nullptr);
void act_send_many(Actor &a);
void act_close(Actor &a, ConnRec *target = nullptr);

// fuzz_listen_connect.cpp
void act_listen(Actor &a);
void act_unlisten(Actor &a);
void act_listener_port(Actor &a);
void act_connect(Actor &a);
// In a callback: waits until the record's configuration is written (by
// iocpnet_connect's caller, or here when nested inside that connect).
void ensure_configured(ConnRec &r);

// fuzz_actions.cpp
void check_address(Actor &a, uint64_t id, ConnRec *r, bool peer, bool must_work, const char *why);
void check_user(Actor &a, uint64_t id, ConnRec *r, bool must_work, const char *why);

// fuzz_flow.cpp
void act_flow(Actor &a);   // pause / resume / queued_bytes / shutdown_write / conn_post
void act_timer(Actor &a);  // timer_start / timer_stop
// A verified message through sendv or send_owned instead of send; the result.
int send_other_way(Actor &a, ConnRec &r, const std::string &m);
void check_not_paused(ConnRec &r); // in on_data
void flow_final_checks(Ctx &x);

enum Act {
    A_SEND, A_SEND_SELF, A_SEND_MANY, A_CONNECT, A_CLOSE, A_CLOSE_SELF, A_LISTEN, A_UNLISTEN, A_LPORT, A_POST, A_USER,
    A_ADDR, A_STATS, A_SETCB, A_SETLOG, A_DESTROY, A_SLEEP, A_FLOW, A_TIMER, A_N
};
extern const int kThreadW[A_N]; // the weights of the fuzz threads' actions
void do_action(Actor &a, Act act);
Act pick_act(Rng &rng, const int *w);
void random_actions(Actor &a, int n); // n actions with the callbacks' weights

// ------------------------------------------------------------- receiving
// (fuzz_messages.cpp)

// on_data's bytes: framing invariants, and for verified connections content.
void receive(Ctx &x, ConnRec &r, const uint8_t *d, size_t n);

// ------------------------------------------------------------- callbacks
// (fuzz_callbacks.cpp)

iocpnet_callbacks callback_set(int v); // set v (0 or 1): equivalent, with user pointer &Ctx::tags[v]

void IOCPNET_CALL log_hook(void *user, uint32_t level, const char *msg);
struct HookState {
    std::atomic<iocpnet_port *> port{nullptr};
    std::atomic<int> mode{0};
};
extern HookState g_hook;

} // namespace fuzz
