// A stateful fuzzer of the public API (include/iocpnet/iocpnet.h), checked
// against the header's contract, not against one implementation.
//
// Each iteration creates a port with a random configuration, then several
// "fuzz" threads AND the callbacks (and posted functions, and the log hook)
// make random calls on it: listen / listen_ex / unlisten, connect / connect_ex
// (to its own listeners, and to closed ports), send / send_many /
// send_many_ex of 0 .. 300 KiB to live, closing, dead, 0 and garbage ids,
// close (GRACEFUL, ABORT, invalid modes), post, set_callbacks, conn user
// pointers, addresses with tiny buffers, get_stats with odd struct sizes,
// set_log, and iocpnet_port_destroy where it must fail. At a random moment
// the main thread destroys the port while the fuzz threads keep calling.
//
// Checked, per connection id (a violation prints the seed and exits 1):
//   - on_accept or on_connect first; a failed on_connect is the only
//     callback; on_close exactly once and last; no callback after it; no
//     callback for an id never announced; callbacks of one id never overlap;
//   - after iocpnet_close returned OK: nothing but on_close(OK) (or, for a
//     connection still connecting, on_connect(SHUTTING_DOWN)); calls on an id
//     that is closing give NOT_FOUND, and after on_close returned every call;
//   - every result code is in the set the header documents for the call;
//   - content: every message of a "verified" connection pair carries a header
//     (kind, length, checksum, origin, and per receiver a sequence number per
//     origin thread), so the receiver checks that each message arrived whole,
//     unmodified, addressed to it and in order without gaps; a missing tail
//     after a close is fine, corruption, reordering or foreign bytes are not.
//     RAW connections are checked as byte streams with one sending thread;
//     framed ones with many (threads and callbacks mixing send, send_many
//     and close);
//   - posts: every post that returned OK runs exactly once before destroy
//     returns, one that returned SHUTTING_DOWN never;
//   - destroy returns within 5 s (a watchdog aborts with every thread's
//     current call otherwise), and from a worker thread gives IN_CALLBACK.
//
// Usage: api_fuzzer [--seconds N] [--seed S] [--iterations K] [--same-seed]
//                   [--verbose] [--strict-close] [--disable FEATURE,...]
// Without --seed it runs the fixed seeds 1..4, then a fresh seed printed at
// the start; each later iteration uses the previous seed + 1. A failure
// prints the seed of its iteration. The seed fixes every random choice
// (configuration, call sequences, sizes), not the threads' timing, so replay
// it a few times: `--seed S --iterations 20 --same-seed`.
// The backend is chosen with IOCPNET_BACKEND=io_uring|epoll as usual.
//
// Diagnostics only (CI runs everything): --disable leaves out a feature to
// look past a known defect: hook (the log hook), race (calls racing destroy),
// idle (idle timeouts), cb-listen (listen/unlisten inside callbacks), chaos
// (mismatched framings), addr (strict address checks), unannounced (count
// on_close for ids never announced instead of failing). --strict-close also
// fails a callback that starts after a close() made on ANOTHER thread
// returned (see Features::strict_close). --framing raw|length|line gives every
// listener that framing.
#include <iocpnet/iocpnet.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <climits>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}
void sleep_us(int64_t us) { std::this_thread::sleep_for(std::chrono::microseconds(us)); }

// ------------------------------------------------------------------ random

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed = 1) : s(seed) {}
    uint64_t next() {
        uint64_t z = (s += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    uint32_t below(uint32_t n) { return n ? uint32_t(next() % n) : 0; }
    uint32_t range(uint32_t lo, uint32_t hi) { return lo + below(hi - lo + 1); }
    bool chance(unsigned pct) { return below(100) < pct; }
};
uint64_t mix(uint64_t a, uint64_t b) {
    Rng r(a ^ (b * 0xD6E8FEB86659FD93ull) ^ 0x5851F42D4C957F2Dull);
    r.next();
    return r.next();
}

// ------------------------------------------------------ run identity, death

struct RunId {
    std::atomic<uint64_t> seed{0};
    std::atomic<int> iter{-1};
    std::string backend = "default";
};
RunId g_run;
std::mutex g_die_mu;

// Per-thread trace of what each thread is doing, for hang reports.
struct Slot {
    std::atomic<int> used{0};
    std::atomic<const char *> role{nullptr}, cb{nullptr}, call{nullptr}, outer{nullptr};
    std::atomic<uint64_t> cb_id{0}, call_id{0};
};
constexpr int kSlots = 512;
Slot g_slots[kSlots];
Slot g_overflow_slot;
struct SlotHolder {
    Slot *s = nullptr;
    ~SlotHolder() {
        if (s && s != &g_overflow_slot) {
            s->cb = nullptr;
            s->call = nullptr;
            s->role = nullptr;
            s->used.store(0);
        }
    }
};
thread_local SlotHolder t_slot;
Slot *slot() {
    if (!t_slot.s) {
        for (int i = 0; i < kSlots && !t_slot.s; ++i) {
            int e = 0;
            if (g_slots[i].used.compare_exchange_strong(e, 1)) t_slot.s = &g_slots[i];
        }
        if (!t_slot.s) t_slot.s = &g_overflow_slot;
        if (!t_slot.s->role.load()) t_slot.s->role = "engine thread";
    }
    return t_slot.s;
}
void set_role(const char *r) { slot()->role = r; }

struct CallT { // "this thread is inside API call `c` on id"
    Slot *s;
    const char *prev;
    uint64_t prev_id;
    CallT(const char *c, uint64_t id) : s(slot()), prev(s->call.load()), prev_id(s->call_id.load()) {
        s->call = c;
        s->call_id = id;
    }
    ~CallT() {
        s->call = prev;
        s->call_id = prev_id;
    }
};
struct CbT { // "this thread runs callback `c` for id" (maybe from inside an API call of ours)
    Slot *s;
    const char *prev, *prev_call, *prev_outer;
    uint64_t prev_id, prev_call_id;
    CbT(const char *c, uint64_t id)
        : s(slot()), prev(s->cb.load()), prev_call(s->call.load()), prev_outer(s->outer.load()),
          prev_id(s->cb_id.load()), prev_call_id(s->call_id.load()) {
        s->outer = prev_call;
        s->cb = c;
        s->cb_id = id;
        s->call = nullptr;
    }
    ~CbT() {
        s->cb = prev;
        s->cb_id = prev_id;
        s->call = prev_call;
        s->call_id = prev_call_id;
        s->outer = prev_outer;
    }
};

void dump_threads(FILE *f) {
    for (int i = 0; i <= kSlots; ++i) {
        Slot &s = i < kSlots ? g_slots[i] : g_overflow_slot;
        if (i < kSlots && !s.used.load()) continue;
        const char *role = s.role.load(), *cb = s.cb.load(), *call = s.call.load(), *outer = s.outer.load();
        if (!role && !cb && !call) continue;
        fprintf(f, "    thread %-3d %-14s", i, role ? role : "?");
        if (cb && outer) fprintf(f, " inside %s:", outer);
        if (cb) fprintf(f, " in %s(conn %#" PRIx64 ")", cb, s.cb_id.load());
        if (call) fprintf(f, " calling %s(%#" PRIx64 ")", call, s.call_id.load());
        if (!cb && !call) fprintf(f, " (not in a callback or API call)");
        fprintf(f, "\n");
    }
}

void (*g_dump_state)(FILE *) = nullptr; // the iteration's model, for reports

[[noreturn]] void die(int code, const char *kind, const char *msg) {
    std::lock_guard<std::mutex> lk(g_die_mu);
    fflush(stdout);
    uint64_t seed = g_run.seed.load();
    fprintf(stderr,
            "\n*** %s [backend %s, iteration %d, seed %#" PRIx64 "]\n    %s\n"
            "    replay: IOCPNET_BACKEND=%s api_fuzzer --seed %#" PRIx64 " --iterations 20 --same-seed\n",
            kind, g_run.backend.c_str(), g_run.iter.load(), seed, msg, g_run.backend.c_str(), seed);
    Slot *me = t_slot.s;
    if (me) {
        const char *cb = me->cb.load(), *call = me->call.load();
        fprintf(stderr, "    this thread: %s%s%s%s\n", me->role.load() ? me->role.load() : "?", cb ? " in " : "",
                cb ? cb : "", call ? " (after/inside an API call)" : "");
    }
    fprintf(stderr, "    threads:\n");
    dump_threads(stderr);
    if (g_dump_state) g_dump_state(stderr);
    fflush(stderr);
    std::_Exit(code);
}

#if defined(__MINGW32__)
#define FZ_PRINTF(a, b) __attribute__((format(gnu_printf, a, b))) // libstdc++ selects mingw's C99 printf
#else
#define FZ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#endif
[[noreturn]] void violation(const char *fmt, ...) FZ_PRINTF(1, 2);
void violation(const char *fmt, ...) {
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    die(1, "CONTRACT VIOLATION", buf);
}

// ----------------------------------------------------------- result codes

const char *rc_name(int rc) {
    if (rc == IOCPNET_OK) return "IOCPNET_OK";
#define F_XX_(name, value, msg)                                                                                        \
    if (rc == value) return "IOCPNET_E_" #name;
    IOCPNET_ERRNO_MAP(F_XX_)
#undef F_XX_
    return "(a code not in the table)";
}
constexpr uint32_t B(int rc) { return 1u << unsigned(-rc); }
constexpr uint32_t OK_ = B(IOCPNET_OK), INV = B(IOCPNET_E_INVALID_ARG), NOMEM = B(IOCPNET_E_NO_MEMORY),
                   NF = B(IOCPNET_E_NOT_FOUND), WB = B(IOCPNET_E_WOULD_BLOCK), ADDRINV = B(IOCPNET_E_ADDR_INVALID),
                   SD = B(IOCPNET_E_SHUTTING_DOWN), INCB = B(IOCPNET_E_IN_CALLBACK), LIM = B(IOCPNET_E_LIMIT),
                   SYS = B(IOCPNET_E_SYSTEM);
bool in_table(int rc) { return rc <= 0 && rc > IOCPNET_E_LAST_; }
std::string set_names(uint32_t m) {
    std::string s;
    for (int i = 0; i < 32; ++i)
        if (m & (1u << i)) s += std::string(s.empty() ? "" : ", ") + rc_name(-i);
    return "{" + s + "}";
}
// Checks rc against the allowed set; returns rc.
int expect(int rc, uint32_t allowed, const char *call, uint64_t id, const char *why) {
    if (!in_table(rc) || !(allowed & B(rc)))
        violation("%s(%#" PRIx64 ") returned %s (%d); allowed here: %s -- %s; detail: \"%s\"", call, id, rc_name(rc),
                  rc, set_names(allowed).c_str(), why, iocpnet_last_error_message());
    return rc;
}

// ------------------------------------------------------------- messages
//
// All ASCII (no '\n', no '\r' unless on purpose), so one format serves RAW,
// LENGTH_PREFIX and LINE:
//   [0] 'Z'  [1] kind 'H' (hello) or 'D' (data)  [2..10) total length, hex
//   [10..18) FNV-1a of bytes [18, len), hex       [18..26) origin, hex
//   hello: [26..42) sender conn id  [42..58) listener id  [58] 'C'/'S'  [59] framing
//   data:  [26..28) n entries, then n x (16 hex conn id of the sending side,
//          8 hex sequence number of this origin on that connection)
//   then filler letters up to len.
constexpr size_t kHelloMin = 60, kDataHead = 28, kEntry = 24;
constexpr uint32_t kUnseq = 0xFFFFFFFFu;
constexpr size_t kMaxMsg = 16u << 20;

uint32_t fnv(const char *p, size_t n, uint32_t h = 2166136261u) {
    for (size_t i = 0; i < n; ++i) h = (h ^ uint8_t(p[i])) * 16777619u;
    return h;
}
void put_hex(char *p, uint64_t v, int digits) {
    static const char hex[] = "0123456789abcdef";
    for (int i = digits - 1; i >= 0; --i, v >>= 4) p[i] = hex[v & 15];
}
bool get_hex(const char *p, int digits, uint64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < digits; ++i) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return false;
        v = (v << 4) | unsigned(d);
    }
    *out = v;
    return true;
}
void fill_letters(char *p, size_t n, uint64_t seed) {
    uint64_t x = seed | 1;
    for (size_t i = 0; i < n; ++i) {
        if ((i & 7) == 0) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
        p[i] = char('a' + ((x >> ((i & 7) * 8)) & 0xff) % 26);
    }
}
void seal(std::string &m) { put_hex(&m[10], fnv(m.data() + 18, m.size() - 18), 8); }

struct Entry {
    uint64_t conn;
    uint32_t seq;
};
std::string make_data(uint32_t origin, const std::vector<Entry> &es, size_t len, Rng &rng, bool newline) {
    size_t head = kDataHead + kEntry * es.size();
    if (len < head + 1) len = head + 1;
    std::string m(len, 'x');
    m[0] = 'Z', m[1] = 'D';
    put_hex(&m[2], len, 8);
    put_hex(&m[18], origin, 8);
    put_hex(&m[26], es.size(), 2);
    for (size_t i = 0; i < es.size(); ++i) {
        put_hex(&m[kDataHead + kEntry * i], es[i].conn, 16);
        put_hex(&m[kDataHead + kEntry * i + 16], es[i].seq, 8);
    }
    fill_letters(&m[head], len - head, rng.next());
    if (newline) m[head + rng.below(uint32_t(len - head))] = '\n';
    seal(m);
    return m;
}
std::string make_hello(uint32_t origin, uint64_t conn, uint64_t listener, char role, uint32_t framing, Rng &rng) {
    size_t len = kHelloMin + rng.below(100);
    std::string m(len, 'x');
    m[0] = 'Z', m[1] = 'H';
    put_hex(&m[2], len, 8);
    put_hex(&m[18], origin, 8);
    put_hex(&m[26], conn, 16);
    put_hex(&m[42], listener, 16);
    m[58] = role;
    m[59] = char('0' + framing);
    fill_letters(&m[60], len - 60, rng.next());
    seal(m);
    return m;
}

struct Msg {
    char kind = 0;
    size_t len = 0;
    uint32_t origin = 0;
    uint64_t conn = 0, listener = 0; // hello
    char role = 0;
    std::vector<Entry> entries; // data
};
// Parses one whole message of n bytes; "" or what is wrong.
std::string parse_msg(const char *p, size_t n, Msg *m) {
    char buf[160];
    uint64_t v;
    if (n < kDataHead) return "message of " + std::to_string(n) + " bytes is shorter than any header";
    if (p[0] != 'Z' || (p[1] != 'H' && p[1] != 'D')) return "bad magic/kind";
    if (!get_hex(p + 2, 8, &v)) return "bad length field";
    if (v != n) {
        snprintf(buf, sizeof buf, "length field says %" PRIu64 " bytes, the message has %zu (boundary broken)", v, n);
        return buf;
    }
    m->kind = p[1];
    m->len = n;
    uint64_t sum;
    if (!get_hex(p + 10, 8, &sum)) return "bad checksum field";
    uint32_t want = fnv(p + 18, n - 18);
    if (sum != want) {
        snprintf(buf, sizeof buf, "checksum %08" PRIx64 " != %08x of the bytes received (content modified)", sum, want);
        return buf;
    }
    if (!get_hex(p + 18, 8, &v)) return "bad origin";
    m->origin = uint32_t(v);
    if (m->kind == 'H') {
        if (n < kHelloMin) return "hello too short";
        if (!get_hex(p + 26, 16, &m->conn) || !get_hex(p + 42, 16, &m->listener)) return "bad hello ids";
        m->role = p[58];
        return "";
    }
    if (!get_hex(p + 26, 2, &v)) return "bad entry count";
    if (kDataHead + kEntry * v > n) return "entries beyond the message";
    m->entries.resize(size_t(v));
    for (size_t i = 0; i < v; ++i) {
        uint64_t c, s;
        if (!get_hex(p + kDataHead + kEntry * i, 16, &c) || !get_hex(p + kDataHead + kEntry * i + 16, 8, &s))
            return "bad entry";
        m->entries[i] = Entry{c, uint32_t(s)};
    }
    return "";
}

// ------------------------------------------------------------ the model

enum Mode : int {
    VERIFIED = 0, // both ends are ours with the same framing: content is checked
    CHAOS = 1,    // random framing on the connect side, random bytes: only framing invariants
    PROBE = 2,    // a connect to a closed port: sends nothing
    MUTE = 3      // accepted by a listener unknown at on_accept time: sends nothing
};
const char *mode_name(int m) {
    static const char *const n[] = {"verified", "chaos", "probe", "mute"};
    return m >= 0 && m < 4 ? n[m] : "?";
}
const char *framing_name(uint32_t f) {
    static const char *const n[] = {"RAW", "LENGTH_PREFIX", "LINE"};
    return f < 3 ? n[f] : "unknown";
}
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
Features g_feat;
bool g_verbose = false;

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

    std::atomic<bool> destroy_started{false}, destroy_returned{false}, b_running{false}, b_done{false};
    std::atomic<int> racers{0};
    std::atomic<uint32_t> next_origin{1};
    UserTag tags[2];
    iocpnet_callbacks cbs[2];

    std::atomic<uint64_t> total_conns{0};
    // summary
    std::atomic<uint64_t> n_msgs{0}, n_bytes{0}, n_accepts{0}, n_connect_ok{0}, n_connect_fail{0}, n_closes{0},
        n_framing{0}, n_timeouts{0}, n_wb{0}, n_drains{0}, n_posts_run{0}, n_listens{0}, n_excused{0}, n_calls{0},
        n_hook{0}, n_tolerated{0};
};
std::atomic<Ctx *> g_ctx{nullptr};
constexpr size_t kMaxLive = 48;
constexpr uint64_t kMaxTotalConns = 2500;

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
thread_local Origin t_origin;
Origin &origin(Ctx &x) {
    if (t_origin.tag != x.tag) {
        t_origin.tag = x.tag;
        t_origin.id = x.next_origin.fetch_add(1);
        t_origin.fuzz = -1;
        t_origin.rng = Rng(mix(x.seed, t_origin.id));
        t_origin.next.clear();
        t_origin.dying.clear();
        memset(t_origin.stats_last, 0, sizeof t_origin.stats_last);
    }
    return t_origin;
}

// A connect in progress on this thread: lets a callback nested inside it
// (not expected, not forbidden) configure the record.
struct Pending {
    bool active = false;
    int mode = MUTE;
    uint32_t framing = 0, max = 0, idle = 0, ct = 0;
    uint64_t listener = 0;
    uint16_t port = 0;
    int owner = -1;
};
thread_local Pending t_pending;

void configure(ConnRec &r, const Pending &p) {
    r.mode = p.mode;
    r.framing = p.framing;
    r.max = p.max;
    r.idle = p.idle;
    r.connect_to = p.ct;
    r.listener = p.listener;
    r.target_port = p.port;
    r.raw_owner = p.owner;
    r.client = true;
}
void ensure_configured(ConnRec &r) {
    if (r.cfg.load(std::memory_order_acquire) == 2) return;
    if (r.from_accept.load()) return; // configured inside on_accept: an overlap is caught by Busy
    if (t_pending.active) {
        int e = 0;
        if (r.cfg.compare_exchange_strong(e, 1)) {
            configure(r, t_pending);
            r.cfg.store(2, std::memory_order_release);
            return;
        }
    }
    int64_t end = now_us() + 3 * 1000000;
    while (r.cfg.load(std::memory_order_acquire) != 2) {
        if (now_us() > end)
            violation("a callback for conn %#" PRIx64 " waited 3 s for iocpnet_connect to return its id (a callback "
                      "for an id connect never returned?)",
                      r.id);
        std::this_thread::yield();
    }
}

// ------------------------------------------------------------- registry

std::shared_ptr<ConnRec> find(Ctx &x, uint64_t id) {
    std::lock_guard<std::mutex> lk(x.mu);
    auto it = x.conns.find(id);
    return it == x.conns.end() ? nullptr : it->second;
}
std::shared_ptr<ConnRec> get_or_create(Ctx &x, uint64_t id, bool *created) {
    std::lock_guard<std::mutex> lk(x.mu);
    auto &p = x.conns[id];
    *created = !p;
    if (!p) p = std::make_shared<ConnRec>(id);
    return p;
}
void add_live(Ctx &x, ConnRec &r) {
    std::lock_guard<std::mutex> lk(x.mu);
    if (r.state.load() < 2 && !r.listed) {
        r.listed = true;
        x.live.push_back(r.id);
    }
}
void set_final_state(Ctx &x, ConnRec &r, int st) { // 2 or 3, and off the live list
    std::lock_guard<std::mutex> lk(x.mu);
    r.state.store(st);
    if (r.listed) {
        r.listed = false;
        auto it = std::find(x.live.begin(), x.live.end(), r.id);
        if (it != x.live.end()) {
            *it = x.live.back();
            x.live.pop_back();
        }
    }
}
void mark_dead(Ctx &x, ConnRec &r) {
    std::lock_guard<std::mutex> lk(x.mu);
    r.dead.store(true);
    x.stale.push_back(r.id);
}
// Called when an engine thread starts a callback or posted function.
Origin &enter_engine(Ctx &x) {
    Origin &o = origin(x);
    for (auto &r : o.dying) mark_dead(x, *r);
    o.dying.clear();
    return o;
}

size_t live_count(Ctx &x) {
    std::lock_guard<std::mutex> lk(x.mu);
    return x.live.size();
}

enum TKind { T_LIVE, T_STALE, T_ZERO, T_GARBAGE };
struct Target {
    uint64_t id = 0;
    std::shared_ptr<ConnRec> rec;
    TKind kind = T_ZERO;
};
uint64_t garbage_id(Rng &r) { return r.chance(10) ? UINT64_MAX : ((1ull << 63) | r.next()); }
// With `hot`, a live id is often one of the first few of the live list: many
// threads then send, send_many and close on the same connections at once.
Target pick_target(Ctx &x, Rng &rng, unsigned live_pct, bool hot = false) {
    Target t;
    unsigned v = rng.below(100);
    std::lock_guard<std::mutex> lk(x.mu);
    if (v < live_pct && !x.live.empty()) {
        uint32_t n = uint32_t(x.live.size());
        t.id = x.live[hot && rng.chance(40) ? rng.below(std::min<uint32_t>(n, 3)) : rng.below(n)];
        t.kind = T_LIVE;
    } else if (v < live_pct + (100 - live_pct) / 2 && !x.stale.empty()) {
        t.id = x.stale[rng.below(uint32_t(x.stale.size()))];
        t.kind = T_STALE;
    } else if (rng.chance(50)) {
        t.kind = T_ZERO;
        return t;
    } else {
        t.id = garbage_id(rng);
        t.kind = T_GARBAGE;
        return t;
    }
    t.rec = x.conns[t.id];
    return t;
}
std::shared_ptr<ListenerRec> pick_listener(Ctx &x, Rng &rng, bool live_only, int mode = -1) {
    std::lock_guard<std::mutex> lk(x.mu);
    std::vector<std::shared_ptr<ListenerRec>> c;
    for (auto &l : x.listeners)
        if ((!live_only || l->unlisten_ok.load() == 0) && (mode < 0 || l->mode == mode)) c.push_back(l);
    return c.empty() ? nullptr : c[rng.below(uint32_t(c.size()))];
}
size_t live_listeners(Ctx &x) {
    std::lock_guard<std::mutex> lk(x.mu);
    size_t n = 0;
    for (auto &l : x.listeners) n += l->unlisten_ok.load() == 0;
    return n;
}

// The connection is known to be closing or closed: send, close and
// set_user must give NOT_FOUND. Read BEFORE the call.
bool known_closing(const ConnRec &r) { return r.state.load() >= 2 || r.close_ok.load() > 0 || r.dead.load(); }

void *user_value(uint64_t id, unsigned k) { return reinterpret_cast<void *>(uintptr_t(mix(id, 77) ^ (k & 0xff))); }
bool user_ok(uint64_t id, void *u) { return !u || ((uintptr_t(u) ^ uintptr_t(mix(id, 77))) >> 8) == 0; }

// ------------------------------------------------------------- actors

struct Actor {
    Ctx &x;
    Origin &o;
    Rng &rng;
    bool in_cb;     // on an engine thread (callback, posted function)
    ConnRec *self;  // the connection whose callback this is, if any
    const char *where;
};
void random_actions(Actor &a, int n);

bool data_ok(const Actor &a, const ConnRec &r) {
    if (r.cfg.load(std::memory_order_acquire) != 2 || r.mode != VERIFIED || !r.ready.load(std::memory_order_acquire))
        return false;
    if (r.framing == IOCPNET_FRAMING_RAW) return !a.in_cb && a.o.fuzz >= 0 && a.o.fuzz == r.raw_owner;
    return true;
}
size_t pick_len(Rng &r) {
    uint32_t v = r.below(1000);
    if (v < 600) return r.range(0, 300);
    if (v < 900) return r.range(0, 4096);
    if (v < 985) return r.range(0, 65536);
    return r.range(65536, 300 * 1024);
}
uint32_t pick_max(Rng &r) { // max_message_size option (0 = default 1 MiB)
    uint32_t v = r.below(100);
    if (v < 50) return 0;
    if (v < 75) return 65536;
    if (v < 90) return r.range(4096, 32768);
    return r.range(300, 4096);
}
uint32_t pick_idle_opt(Rng &r) {
    uint32_t v = r.below(100);
    if (v < 70 || !g_feat.idle) return IOCPNET_INHERIT;
    if (v < 85) return 0;
    return r.range(60, 600);
}
// The send-size rule: LIMIT when len alone exceeds the queue limit; the
// framing overhead (<= 4 bytes) at the boundary may go either way.
uint32_t size_codes(const Ctx &x, size_t len) {
    if (len > x.max_queue) return LIM;
    if (len + 8 > x.max_queue) return LIM | WB | OK_;
    return WB | OK_;
}
void note_sent(ConnRec &r, size_t len) {
    uint64_t m = r.max_sent.load();
    while (len > m && !r.max_sent.compare_exchange_weak(m, len)) {
    }
}

// Hello: the first message of every verified connection, from whoever
// learned the id first (connect's caller, on_accept).
void send_hello(Actor &a, ConnRec &r) {
    std::string m = make_hello(a.o.id, r.id, r.listener, r.client ? 'C' : 'S', r.framing, a.rng);
    bool closing = known_closing(r);
    int rc;
    {
        CallT ct("iocpnet_send(hello)", r.id);
        rc = iocpnet_send(a.x.port, r.id, m.data(), m.size());
    }
    expect(rc, closing ? NF : (OK_ | NF | NOMEM), "iocpnet_send", r.id,
           closing ? "first send on a connection already closing" : "first send (hello) on a new connection");
    if (rc == IOCPNET_OK) {
        note_sent(r, m.size());
        r.ready.store(true, std::memory_order_release);
    }
}

// A verified data message to r (the caller checked data_ok).
void send_data(Actor &a, ConnRec &r, bool in_framing_error = false) {
    bool bad_nl = a.rng.chance(4);
    size_t len = pick_len(a.rng);
    uint32_t &seq = a.o.next[r.id];
    std::string m = make_data(a.o.id, {Entry{r.id, seq}}, len, a.rng, bad_nl);
    bool line_bad = bad_nl && r.framing == IOCPNET_FRAMING_LINE;
    bool closing = known_closing(r);
    int rc;
    {
        CallT ct("iocpnet_send", r.id);
        rc = iocpnet_send(a.x.port, r.id, m.data(), m.size());
    }
    uint32_t allowed = closing ? NF : (NF | NOMEM | size_codes(a.x, m.size()));
    if (line_bad) allowed = (allowed & ~OK_) | INV;
    expect(rc, allowed, "iocpnet_send", r.id,
           line_bad  ? "a LINE message containing \"\\n\" must not be queued"
           : closing ? "the connection is closing (iocpnet_close returned OK or on_close began)"
                     : "send of a valid message to an open connection");
    if (in_framing_error && rc == IOCPNET_E_NOT_FOUND && r.close_calls.load() == 0 && !a.x.destroy_started.load())
        violation("iocpnet_send on conn %#" PRIx64 " inside its on_framing_error returned NOT_FOUND; the header "
                  "says the connection is still open during this call",
                  r.id);
    if (rc == IOCPNET_OK) {
        seq++;
        note_sent(r, m.size());
    } else if (rc == IOCPNET_E_WOULD_BLOCK) {
        r.wouldblocks++;
        a.x.n_wb++;
    }
}

void send_chaos(Actor &a, ConnRec &r) {
    size_t len = a.rng.chance(3) ? a.rng.range(65536, 200000) : a.rng.range(0, 2000);
    std::string m(len, '\0');
    for (auto &c : m) c = char(a.rng.next());
    bool nl = false;
    if (r.framing == IOCPNET_FRAMING_LINE) {
        if (a.rng.chance(90))
            for (auto &c : m)
                if (c == '\n') c = ' ';
        nl = m.find('\n') != std::string::npos;
    }
    bool closing = known_closing(r);
    int rc;
    {
        CallT ct("iocpnet_send", r.id);
        rc = iocpnet_send(a.x.port, r.id, m.data(), m.size());
    }
    uint32_t allowed = closing ? NF : (NF | NOMEM | size_codes(a.x, m.size()));
    if (nl) allowed = (allowed & ~OK_) | INV;
    expect(rc, allowed, "iocpnet_send", r.id, nl ? "LINE message containing \"\\n\"" : "random bytes");
    if (rc == IOCPNET_E_WOULD_BLOCK) r.wouldblocks++;
}

void act_send(Actor &a, ConnRec *target = nullptr) {
    Ctx &x = a.x;
    Target t;
    if (target) {
        t.id = target->id;
        t.kind = T_LIVE;
    } else {
        t = pick_target(x, a.rng, 88, true);
    }
    ConnRec *r = target ? target : t.rec.get();
    uint32_t v = a.rng.below(100);
    int rc;
    if (v < 2) {
        CallT ct("iocpnet_send", t.id);
        rc = iocpnet_send(x.port, t.id, nullptr, 1 + a.rng.below(9));
        expect(rc, INV | NF, "iocpnet_send", t.id, "data NULL with len > 0");
        return;
    }
    if (v < 3) {
        CallT ct("iocpnet_send", t.id);
        expect(iocpnet_send(nullptr, t.id, "x", 1), INV, "iocpnet_send", t.id, "port NULL");
        return;
    }
    if (t.kind != T_LIVE) {
        bool zero = a.rng.chance(30);
        CallT ct("iocpnet_send", t.id);
        rc = iocpnet_send(x.port, t.id, zero ? nullptr : "abc", zero ? 0 : 3);
        expect(rc, NF, "iocpnet_send", t.id,
               t.kind == T_STALE ? "id whose on_close (or failed on_connect) returned" : "id 0 or never issued");
        return;
    }
    if (r->cfg.load(std::memory_order_acquire) != 2) return;
    if (data_ok(a, *r) && v < 94) {
        int burst = !a.in_cb && a.rng.chance(25) ? int(a.rng.range(2, 16)) : 1;
        for (int i = 0; i < burst; ++i) send_data(a, *r);
    } else if (r->mode == CHAOS && v < 94) {
        send_chaos(a, *r);
    } else if (r->framing != kUnknownFraming && (r->framing != IOCPNET_FRAMING_RAW || v >= 94)) {
        // a zero-length send: an empty message (framed) or nothing (RAW);
        // only where it cannot break the receiver's check
        bool verified = r->mode == VERIFIED;
        if (verified && r->framing != IOCPNET_FRAMING_RAW && !data_ok(a, *r)) return; // before the hello
        bool closing = known_closing(*r);
        {
            CallT ct("iocpnet_send", r->id);
            rc = iocpnet_send(x.port, r->id, a.rng.chance(50) ? nullptr : "", 0);
        }
        expect(rc, closing ? NF : (OK_ | NF | WB | NOMEM), "iocpnet_send", r->id, "zero-length send");
    }
}

void act_send_many(Actor &a) {
    Ctx &x = a.x;
    int k = 1 + int(a.rng.below(6));
    std::vector<uint64_t> ids;
    std::vector<std::shared_ptr<ConnRec>> recs; // null for dead/zero/garbage
    std::vector<int> is_data;
    std::vector<bool> closing;
    std::vector<Entry> entries;
    for (int i = 0; i < k; ++i) {
        Target t = pick_target(x, a.rng, 85, true);
        if (t.kind == T_LIVE) {
            ConnRec &r = *t.rec;
            if (r.cfg.load(std::memory_order_acquire) != 2) continue;
            if (data_ok(a, r)) {
                bool dup = false;
                for (auto &e : entries) dup |= e.conn == r.id;
                if (dup) continue;
                entries.push_back(Entry{r.id, 0});
                is_data.push_back(1);
            } else if (r.mode == CHAOS) {
                is_data.push_back(0);
            } else {
                continue; // a verified connection must only get messages addressed to it
            }
            ids.push_back(r.id);
            recs.push_back(t.rec);
            closing.push_back(known_closing(r));
        } else {
            ids.push_back(t.id);
            recs.push_back(nullptr);
            is_data.push_back(0);
            closing.push_back(true);
        }
    }
    bool ex = a.rng.chance(70);
    bool want_results = ex && a.rng.chance(90);
    bool want_queued = a.rng.chance(80);
    bool seqd = (ex && want_results) || (ids.size() == 1 && want_queued);
    std::string payload;
    bool nl = false;
    if (!entries.empty()) {
        for (auto &e : entries) e.seq = seqd ? a.o.next[e.conn] : kUnseq;
        nl = a.rng.chance(5);
        payload = make_data(a.o.id, entries, pick_len(a.rng), a.rng, nl);
    } else {
        payload.resize(a.rng.range(0, 3000));
        for (auto &c : payload) c = char('a' + a.rng.below(26));
        if (a.rng.chance(10) && !payload.empty()) payload[a.rng.below(uint32_t(payload.size()))] = '\n';
        nl = payload.find('\n') != std::string::npos;
    }
    if (a.rng.chance(3)) { // invalid arguments
        size_t q = 99;
        CallT ct("iocpnet_send_many", 0);
        int rc = a.rng.chance(50) ? iocpnet_send_many(x.port, nullptr, 1 + a.rng.below(3), "x", 1, &q)
                                  : iocpnet_send_many_ex(x.port, ids.data(), ids.size(), nullptr, 5, nullptr, &q);
        expect(rc, INV, "iocpnet_send_many", 0, "conns NULL with count > 0, or data NULL with len > 0");
        return;
    }
    std::vector<int> res(ids.size() + 1, 12345);
    size_t queued = 777777;
    int rc;
    {
        CallT ct(ex ? "iocpnet_send_many_ex" : "iocpnet_send_many", ids.empty() ? 0 : ids[0]);
        const char *d = payload.empty() && a.rng.chance(50) ? nullptr : payload.data();
        if (ex)
            rc = iocpnet_send_many_ex(x.port, ids.empty() && a.rng.chance(50) ? nullptr : ids.data(), ids.size(), d,
                                      payload.size(), want_results ? res.data() : nullptr,
                                      want_queued ? &queued : nullptr);
        else
            rc = iocpnet_send_many(x.port, ids.empty() && a.rng.chance(50) ? nullptr : ids.data(), ids.size(), d,
                                   payload.size(), want_queued ? &queued : nullptr);
    }
    expect(rc, OK_ | NOMEM, ex ? "iocpnet_send_many_ex" : "iocpnet_send_many", ids.size(), "valid arguments");
    if (rc != IOCPNET_OK) return;
    if (res[ids.size()] != 12345) violation("send_many_ex wrote past results[count]");
    if (want_queued && queued > ids.size())
        violation("send_many: *queued = %zu for %zu receivers", queued, ids.size());
    if (ex && want_results) {
        size_t oks = 0;
        for (size_t i = 0; i < ids.size(); ++i) {
            uint32_t allowed;
            bool line_bad = nl && recs[i] && recs[i]->framing == IOCPNET_FRAMING_LINE;
            if (!recs[i] || closing[i]) allowed = NF;
            else allowed = NF | NOMEM | size_codes(x, payload.size());
            if (line_bad) allowed = (allowed & ~OK_) | INV | LIM;
            if (res[i] == 12345) violation("send_many_ex left results[%zu] unwritten", i);
            expect(res[i], allowed, "iocpnet_send_many_ex results[i]", ids[i],
                   !recs[i]    ? "dead, 0 or never-issued id"
                   : line_bad  ? "payload with \"\\n\" to a LINE connection"
                   : closing[i] ? "connection closing (close returned OK or on_close began)"
                                : "open connection");
            if (res[i] == IOCPNET_OK) {
                oks++;
                if (is_data[i]) a.o.next[ids[i]]++;
                note_sent(*recs[i], payload.size());
            } else if (res[i] == IOCPNET_E_WOULD_BLOCK) {
                recs[i]->wouldblocks++;
                x.n_wb++;
            }
        }
        if (want_queued && queued != oks)
            violation("send_many_ex: *queued = %zu but %zu results are IOCPNET_OK", queued, oks);
    } else {
        // Results unknown: WOULD_BLOCK may have happened on any receiver.
        for (size_t i = 0; i < ids.size(); ++i)
            if (recs[i]) {
                recs[i]->wouldblocks++;
                note_sent(*recs[i], payload.size());
            }
        if (seqd && queued == 1 && is_data[0]) a.o.next[ids[0]]++;
        bool any_open = false;
        for (size_t i = 0; i < ids.size(); ++i) any_open |= recs[i] && !closing[i];
        if (want_queued && !any_open && queued != 0)
            violation("send_many: *queued = %zu although every receiver was dead, closing, 0 or never issued",
                      queued);
    }
}

void act_close(Actor &a, ConnRec *target = nullptr) {
    Ctx &x = a.x;
    Target t;
    if (target) {
        t.id = target->id;
        t.kind = T_LIVE;
    } else {
        t = pick_target(x, a.rng, 85, a.rng.chance(30));
    }
    ConnRec *r = target ? target : t.rec.get();
    uint32_t v = a.rng.below(100);
    if (v < 8) {
        static const int bad[] = {2, -1, 7, INT_MIN, INT_MAX};
        int mode = bad[a.rng.below(5)];
        CallT ct("iocpnet_close(bad mode)", t.id);
        expect(iocpnet_close(x.port, t.id, mode), INV | NF, "iocpnet_close", t.id, "invalid close mode");
        return;
    }
    int mode = v < 54 ? IOCPNET_CLOSE_GRACEFUL : IOCPNET_CLOSE_ABORT;
    if (t.kind != T_LIVE) {
        CallT ct("iocpnet_close", t.id);
        expect(iocpnet_close(x.port, t.id, mode), NF, "iocpnet_close", t.id, "dead, 0 or never-issued id");
        return;
    }
    r->close_calls++;
    bool closing = known_closing(*r);
    int rc;
    {
        CallT ct("iocpnet_close", r->id);
        rc = iocpnet_close(x.port, r->id, mode);
    }
    expect(rc, closing ? NF : (OK_ | NF), "iocpnet_close", r->id,
           closing ? "connection already closing or closed" : "open connection");
    if (rc == IOCPNET_OK) {
        if (a.self == r) r->close_ok_self = true;
        if (r->close_ok.fetch_add(1) != 0) violation("iocpnet_close(%#" PRIx64 ") returned OK twice", r->id);
        if (a.rng.chance(30)) { // "later calls with the id give NOT_FOUND"
            CallT ct("iocpnet_send", r->id);
            expect(iocpnet_send(x.port, r->id, "", 0), NF, "iocpnet_send", r->id, "after iocpnet_close returned OK");
            expect(iocpnet_close(x.port, r->id, IOCPNET_CLOSE_ABORT), NF, "iocpnet_close", r->id,
                   "second close after iocpnet_close returned OK");
            expect(iocpnet_conn_set_user(x.port, r->id, user_value(r->id, 9)), NF, "iocpnet_conn_set_user", r->id,
                   "after iocpnet_close returned OK");
            void *u = nullptr;
            int g = iocpnet_conn_get_user(x.port, r->id, &u);
            expect(g, OK_ | NF, "iocpnet_conn_get_user", r->id, "closing connection (works until on_close returned)");
            if (g == IOCPNET_OK && !user_ok(r->id, u))
                violation("get_user(%#" PRIx64 ") returned %p, never set on this id", r->id, u);
        }
    }
}

// ------------------------------------------------------------- listeners

void act_unlisten_one(Actor &a, ListenerRec &l, const char *why) {
    bool gone = l.unlisten_ok.load() > 0;
    int rc;
    {
        CallT ct("iocpnet_unlisten", l.id);
        rc = iocpnet_unlisten(a.x.port, l.id);
    }
    expect(rc, gone ? NF : (OK_ | NF), "iocpnet_unlisten", l.id, gone ? "listener already unlistened" : why);
    if (rc == IOCPNET_OK) {
        l.unlistened_in = a.where;
        if (l.unlisten_ok.fetch_add(1) != 0) violation("iocpnet_unlisten(%#" PRIx64 ") returned OK twice", l.id);
        std::lock_guard<std::mutex> lk(a.x.mu);
        a.x.closed_ports.push_back(l.port);
    }
}

void act_listen(Actor &a) {
    Ctx &x = a.x;
    if (live_listeners(x) >= 6) {
        if (auto l = pick_listener(x, a.rng, true)) act_unlisten_one(a, *l, "a live listener");
        return;
    }
    uint32_t v = a.rng.below(100);
    if (v < 5) { // invalid arguments
        iocpnet_conn_options o;
        iocpnet_conn_options_init(&o);
        iocpnet_listener id = 0;
        CallT ct("iocpnet_listen_ex(invalid)", 0);
        switch (a.rng.below(4)) {
        case 0: expect(iocpnet_listen(nullptr, "127.0.0.1", 0, &id), INV, "iocpnet_listen", 0, "port NULL"); break;
        case 1: expect(iocpnet_listen(x.port, "127.0.0.1", 0, nullptr), INV, "iocpnet_listen", 0, "out NULL"); break;
        case 2:
            o.struct_size = a.rng.below(8);
            expect(iocpnet_listen_ex(x.port, "127.0.0.1", 0, &o, &id), INV | SD, "iocpnet_listen_ex", 0,
                   "options struct_size below 8");
            break;
        default:
            o.framing = 3 + a.rng.below(100);
            expect(iocpnet_listen_ex(x.port, "127.0.0.1", 0, &o, &id), INV | SD, "iocpnet_listen_ex", 0,
                   "unknown framing");
        }
        return;
    }
    auto l = std::make_shared<ListenerRec>();
    l->mode = g_feat.chaos && a.rng.chance(25) ? CHAOS : VERIFIED;
    iocpnet_conn_options o;
    iocpnet_conn_options_init(&o);
    o.framing = g_feat.only_framing >= 0 ? uint32_t(g_feat.only_framing) : a.rng.below(3);
    o.max_message_size = pick_max(a.rng);
    o.idle_timeout_ms = pick_idle_opt(a.rng);
    if (a.rng.chance(20)) o.tcp_nodelay = a.rng.below(2);
    bool plain = o.framing == IOCPNET_FRAMING_RAW && o.max_message_size == 0 &&
                 o.idle_timeout_ms == IOCPNET_INHERIT && a.rng.chance(50);
    l->framing = o.framing;
    l->max = o.max_message_size ? o.max_message_size : 1u << 20;
    l->idle = o.idle_timeout_ms == IOCPNET_INHERIT ? x.cfg.idle_timeout_ms : o.idle_timeout_ms;
    iocpnet_listener id = 0;
    int rc;
    {
        CallT ct(plain ? "iocpnet_listen" : "iocpnet_listen_ex", 0);
        rc = plain ? iocpnet_listen(x.port, "127.0.0.1", 0, &id) : iocpnet_listen_ex(x.port, "127.0.0.1", 0, &o, &id);
    }
    bool destroying = x.destroy_started.load();
    expect(rc, OK_ | SYS | (destroying ? SD : 0), "iocpnet_listen", 0, "127.0.0.1 port 0");
    if (rc != IOCPNET_OK) return;
    if (id == 0) violation("iocpnet_listen returned OK with listener id 0");
    l->id = id;
    l->created_in = a.where;
    l->during_destroy = destroying;
    uint16_t port = 0;
    {
        CallT ct("iocpnet_listener_port", id);
        rc = iocpnet_listener_port(x.port, id, &port);
    }
    destroying = x.destroy_started.load();
    expect(rc, destroying ? (OK_ | NF) : OK_, "iocpnet_listener_port", id, "listener just created");
    if (rc == IOCPNET_OK && port == 0) violation("iocpnet_listener_port gave port 0");
    l->port = port;
    {
        std::lock_guard<std::mutex> lk(x.mu);
        if (x.lst_by_id.count(id)) violation("iocpnet_listen returned listener id %#" PRIx64 " twice", id);
        x.lst_by_id[id] = l;
        x.listeners.push_back(l);
        if (port) x.port_uses[port]++;
    }
    x.n_listens++;
    if (a.rng.chance(a.in_cb ? 30 : 12)) act_unlisten_one(a, *l, "right after listen, same thread");
}

void act_unlisten(Actor &a) {
    uint32_t v = a.rng.below(100);
    if (v < 75) {
        if (auto l = pick_listener(a.x, a.rng, v < 65)) act_unlisten_one(a, *l, "a listener");
        return;
    }
    uint64_t id = v < 88 ? 0 : garbage_id(a.rng);
    CallT ct("iocpnet_unlisten", id);
    expect(iocpnet_unlisten(a.x.port, id), NF, "iocpnet_unlisten", id, "listener 0 or never issued");
    if (a.rng.chance(20)) expect(iocpnet_unlisten(nullptr, id), INV, "iocpnet_unlisten", id, "port NULL");
}

void act_listener_port(Actor &a) {
    auto l = pick_listener(a.x, a.rng, false);
    uint64_t id = l ? l->id : garbage_id(a.rng);
    if (a.rng.chance(20)) id = a.rng.chance(50) ? 0 : garbage_id(a.rng), l = nullptr;
    bool gone = !l || l->unlisten_ok.load() > 0;
    uint16_t p = 0;
    CallT ct("iocpnet_listener_port", id);
    if (a.rng.chance(10)) {
        expect(iocpnet_listener_port(a.x.port, id, nullptr), INV | NF, "iocpnet_listener_port", id, "out NULL");
        return;
    }
    int rc = iocpnet_listener_port(a.x.port, id, &p);
    expect(rc, gone ? NF : (OK_ | NF), "iocpnet_listener_port", id, gone ? "unlistened or unknown" : "listener");
    if (rc == IOCPNET_OK && p != l->port)
        violation("iocpnet_listener_port(%#" PRIx64 ") = %u, it was %u", id, unsigned(p), unsigned(l->port));
}

// ------------------------------------------------------------- connect

void act_connect(Actor &a) {
    Ctx &x = a.x;
    if (live_count(x) >= kMaxLive || x.total_conns.load() >= kMaxTotalConns) return;
    uint32_t v = a.rng.below(100);
    iocpnet_conn_options o;
    iocpnet_conn_options_init(&o);
    if (v < 5) {
        iocpnet_conn id = 0;
        CallT ct("iocpnet_connect(invalid)", 0);
        switch (a.rng.below(5)) {
        case 0: expect(iocpnet_connect(nullptr, "127.0.0.1", 1, &id), INV, "iocpnet_connect", 0, "port NULL"); break;
        case 1: expect(iocpnet_connect(x.port, nullptr, 1, &id), INV | ADDRINV, "iocpnet_connect", 0, "host NULL"); break;
        case 2: expect(iocpnet_connect(x.port, "127.0.0.1", 1, nullptr), INV, "iocpnet_connect", 0, "out NULL"); break;
        case 3:
            o.struct_size = a.rng.below(8);
            expect(iocpnet_connect_ex(x.port, "127.0.0.1", 1, &o, &id), INV | SD, "iocpnet_connect_ex", 0,
                   "options struct_size below 8");
            break;
        default:
            o.framing = 3 + a.rng.below(50);
            expect(iocpnet_connect_ex(x.port, "127.0.0.1", 1, &o, &id), INV | SD, "iocpnet_connect_ex", 0,
                   "unknown framing");
        }
        return;
    }
    Pending p;
    p.owner = int(a.rng.below(uint32_t(x.nthreads)));
    std::shared_ptr<ListenerRec> l;
    if (v < 14) {
        std::lock_guard<std::mutex> lk(x.mu);
        if (x.closed_ports.empty()) return;
        p.port = x.closed_ports[a.rng.below(uint32_t(x.closed_ports.size()))];
        p.mode = PROBE;
    } else {
        l = pick_listener(x, a.rng, true);
        if (!l || l->port == 0) return;
        p.port = l->port;
        p.mode = l->mode;
        p.listener = l->id;
    }
    o.framing = p.mode == VERIFIED ? l->framing : a.rng.below(3);
    o.max_message_size = pick_max(a.rng);
    o.idle_timeout_ms = pick_idle_opt(a.rng);
    o.connect_timeout_ms = a.rng.chance(80) ? IOCPNET_INHERIT : a.rng.chance(50) ? 0 : a.rng.range(100, 2000);
    if (a.rng.chance(15)) o.keepalive_s = a.rng.chance(50) ? 0 : a.rng.range(1, 100);
    bool plain = o.framing == IOCPNET_FRAMING_RAW && o.max_message_size == 0 && o.idle_timeout_ms == IOCPNET_INHERIT &&
                 o.connect_timeout_ms == IOCPNET_INHERIT && a.rng.chance(50);
    p.framing = o.framing;
    p.max = o.max_message_size ? o.max_message_size : 1u << 20;
    p.idle = o.idle_timeout_ms == IOCPNET_INHERIT ? x.cfg.idle_timeout_ms : o.idle_timeout_ms;
    p.ct = o.connect_timeout_ms == IOCPNET_INHERIT ? x.cfg.connect_timeout_ms : o.connect_timeout_ms;
    p.active = true;
    iocpnet_conn id = 0;
    int rc;
    x.total_conns++;
    {
        t_pending = p;
        CallT ct(plain ? "iocpnet_connect" : "iocpnet_connect_ex", p.port);
        rc = plain ? iocpnet_connect(x.port, "127.0.0.1", p.port, &id)
                   : iocpnet_connect_ex(x.port, "127.0.0.1", p.port, &o, &id);
        t_pending.active = false;
    }
    bool destroying = x.destroy_started.load();
    expect(rc, OK_ | SYS | (x.cfg.max_connections ? LIM : 0) | (destroying ? SD : 0), "iocpnet_connect", p.port,
           "127.0.0.1 and a port of ours");
    if (rc != IOCPNET_OK) return;
    if (id == 0) violation("iocpnet_connect returned OK with id 0");
    bool created;
    auto r = get_or_create(x, id, &created);
    if (r->from_accept.load())
        violation("iocpnet_connect returned id %#" PRIx64 ", already announced by on_accept (ids are never reused)",
                  id);
    if (r->from_connect.exchange(true)) violation("iocpnet_connect returned id %#" PRIx64 " twice", id);
    int e = 0;
    if (r->cfg.compare_exchange_strong(e, 1)) {
        configure(*r, p);
        r->cfg.store(2, std::memory_order_release);
    }
    void *u = reinterpret_cast<void *>(1);
    {
        CallT ct("iocpnet_conn_get_user", id);
        bool dead = r->dead.load(); // before the call: the id may die while it runs
        int g = iocpnet_conn_get_user(x.port, id, &u);
        expect(g, dead ? NF : (OK_ | NF), "iocpnet_conn_get_user", id, "right after connect");
        if (g == IOCPNET_OK && !user_ok(id, u))
            violation("a new connection's user pointer is %p (never set on this id)", u);
    }
    if (p.mode == VERIFIED) send_hello(a, *r);
    add_live(x, *r);
    if (a.rng.chance(6)) act_close(a, r.get()); // a close while (probably) still connecting
}

// ------------------------------------------------------------- posts

void IOCPNET_CALL post_fn(void *arg);

void act_post(Actor &a) {
    Ctx &x = a.x;
    uint32_t v = a.rng.below(100);
    if (v < 4) {
        CallT ct("iocpnet_post", 0);
        expect(iocpnet_post(v < 2 ? nullptr : x.port, v < 2 ? post_fn : nullptr, nullptr), INV, "iocpnet_post", 0,
               "port or fn NULL");
        return;
    }
    uint32_t i = x.nposts.fetch_add(1);
    if (i >= Ctx::kPosts) return;
    PostTok &t = x.posts[i];
    int rc;
    {
        CallT ct("iocpnet_post", i);
        rc = iocpnet_post(x.port, post_fn, &t);
    }
    bool destroying = x.destroy_started.load();
    t.rc.store(rc);
    expect(rc, OK_ | (destroying ? SD : 0), "iocpnet_post", i, "valid post");
    if (rc == IOCPNET_E_SHUTTING_DOWN && t.ran.load())
        violation("post #%u returned SHUTTING_DOWN but its function ran", i);
}

void IOCPNET_CALL post_fn(void *arg) {
    Ctx *x = g_ctx.load();
    CbT tr("posted fn", 0);
    if (!x) violation("a posted function ran with no port alive (after destroy returned)");
    auto *t = static_cast<PostTok *>(arg);
    if (t < x->posts.get() || t >= x->posts.get() + Ctx::kPosts)
        violation("a posted function ran with an argument of an earlier port (after its destroy returned?)");
    if (x->destroy_returned.load()) violation("a posted function ran after iocpnet_port_destroy returned");
    if (t->ran.fetch_add(1) != 0) violation("posted function #%td ran twice", t - x->posts.get());
    if (t->rc.load() == IOCPNET_E_SHUTTING_DOWN)
        violation("posted function #%td ran although its post returned SHUTTING_DOWN", t - x->posts.get());
    x->n_posts_run++;
    Origin &o = enter_engine(*x);
    Actor a{*x, o, o.rng, true, nullptr, "posted fn"};
    if (o.rng.chance(10)) {
        CallT ct("iocpnet_port_destroy", 0);
        expect(iocpnet_port_destroy(x->port), INCB, "iocpnet_port_destroy", 0, "from a posted function");
    }
    random_actions(a, int(o.rng.below(3)));
}

// ------------------------------------------------------------- misc calls

void check_address(Actor &a, uint64_t id, ConnRec *r, bool peer, bool must_work, const char *why) {
    char buf[80];
    memset(buf, 0xA5, sizeof buf);
    static const size_t sizes[] = {0, 1, 2, 8, 11, 15, 16, 22, 64, 80};
    size_t n = must_work ? 64 : sizes[a.rng.below(10)];
    bool nullbuf = !must_work && a.rng.chance(8);
    bool dead = !r || r->dead.load();
    int rc;
    {
        CallT ct(peer ? "iocpnet_conn_peer_address" : "iocpnet_conn_local_address", id);
        rc = peer ? iocpnet_conn_peer_address(a.x.port, id, nullbuf ? nullptr : buf, n)
                  : iocpnet_conn_local_address(a.x.port, id, nullbuf ? nullptr : buf, n);
    }
    const char *fn = peer ? "iocpnet_conn_peer_address" : "iocpnet_conn_local_address";
    uint32_t allowed = (nullbuf || n == 0) ? (INV | NF | LIM) : dead ? NF : must_work ? OK_ : (OK_ | NF | LIM | SYS);
    if (!g_feat.addr && allowed != NF) allowed |= SYS;
    expect(rc, allowed, fn, id, nullbuf ? "buf NULL" : n == 0 ? "buflen 0" : why);
    size_t from = nullbuf ? 0 : n;
    for (size_t i = from; i < sizeof buf; ++i)
        if (uint8_t(buf[i]) != 0xA5) violation("%s(%#" PRIx64 ", buflen %zu) wrote byte %zu", fn, id, n, i);
    if (rc == IOCPNET_OK) {
        size_t len = strnlen(buf, n);
        if (len >= n) violation("%s(%#" PRIx64 ") returned OK without a NUL within buflen %zu", fn, id, n);
        unsigned port = 0;
        char tail = 0;
        if (g_feat.addr && (strncmp(buf, "127.0.0.1:", 10) != 0 || sscanf(buf + 10, "%u%c", &port, &tail) != 1 ||
                            port == 0 || port > 65535))
            violation("%s(%#" PRIx64 ") = \"%s\", not 127.0.0.1:<port>", fn, id, buf);
        if (r && must_work) {
            char *dst = peer ? r->remote : r->local;
            if (!dst[0]) memcpy(dst, buf, len + 1);
            else if (strcmp(dst, buf) != 0)
                violation("%s(%#" PRIx64 ") changed from \"%s\" to \"%s\"", fn, id, dst, buf);
        }
    }
}

void check_user(Actor &a, uint64_t id, ConnRec *r, bool must_work, const char *why) {
    void *u = reinterpret_cast<void *>(3);
    bool dead = !r || r->dead.load();
    int rc;
    {
        CallT ct("iocpnet_conn_get_user", id);
        rc = iocpnet_conn_get_user(a.x.port, id, &u);
    }
    expect(rc, dead ? NF : must_work ? OK_ : (OK_ | NF), "iocpnet_conn_get_user", id, why);
    if (rc == IOCPNET_OK && !user_ok(id, u))
        violation("iocpnet_conn_get_user(%#" PRIx64 ") = %p, a pointer never set on this id", id, u);
}

void act_user(Actor &a) {
    Target t = pick_target(a.x, a.rng, 85);
    ConnRec *r = t.rec.get();
    uint32_t v = a.rng.below(100);
    if (v < 45) {
        bool closing = !r || known_closing(*r);
        CallT ct("iocpnet_conn_set_user", t.id);
        int rc = iocpnet_conn_set_user(a.x.port, t.id, user_value(t.id, a.rng.range(1, 255)));
        expect(rc, closing ? NF : (OK_ | NF), "iocpnet_conn_set_user", t.id,
               closing ? "closing, dead, 0 or never issued" : "open connection");
    } else if (v < 95) {
        check_user(a, t.id, r, false, "any id");
    } else {
        CallT ct("iocpnet_conn_get_user", t.id);
        expect(iocpnet_conn_get_user(a.x.port, t.id, nullptr), INV | NF, "iocpnet_conn_get_user", t.id, "out NULL");
        expect(iocpnet_conn_set_user(nullptr, t.id, nullptr), INV, "iocpnet_conn_set_user", t.id, "port NULL");
    }
}

void act_addr(Actor &a) {
    Target t = pick_target(a.x, a.rng, 85);
    check_address(a, t.id, t.rec.get(), a.rng.chance(50), false, "any id, any buffer");
}

void act_stats(Actor &a) {
    alignas(8) unsigned char raw[sizeof(iocpnet_stats) + 64];
    memset(raw, 0xA5, sizeof raw);
    static const uint32_t sizes[] = {0, 4, 7, 8, 12, 16, 24, 40, 48, 56, uint32_t(sizeof(iocpnet_stats)),
                                     uint32_t(sizeof(iocpnet_stats) + 16), uint32_t(sizeof(iocpnet_stats) + 64)};
    uint32_t sz = a.rng.chance(50) ? uint32_t(sizeof(iocpnet_stats)) : sizes[a.rng.below(13)];
    memcpy(raw, &sz, 4);
    int rc;
    {
        CallT ct("iocpnet_get_stats", sz);
        rc = iocpnet_get_stats(a.x.port, reinterpret_cast<iocpnet_stats *>(raw));
    }
    expect(rc, sz < 8 ? INV : OK_, "iocpnet_get_stats", sz, sz < 8 ? "struct_size below 8" : "struct_size >= 8");
    uint32_t after;
    memcpy(&after, raw, 4);
    if (after != sz) violation("iocpnet_get_stats changed struct_size from %u to %u", sz, after);
    size_t limit = rc == IOCPNET_OK ? sz : 4;
    for (size_t i = limit; i < sizeof raw; ++i)
        if (raw[i] != 0xA5) violation("iocpnet_get_stats (struct_size %u) wrote byte %zu", sz, i);
    if (rc != IOCPNET_OK) return;
    uint32_t backend;
    memcpy(&backend, raw + 4, 4);
    if (backend == IOCPNET_BACKEND_AUTO || (a.x.expect_backend && backend != a.x.expect_backend))
        violation("iocpnet_get_stats: backend %u, expected %u", backend, a.x.expect_backend);
    static const size_t offs[5] = {offsetof(iocpnet_stats, connections_accepted),
                                   offsetof(iocpnet_stats, connections_connected),
                                   offsetof(iocpnet_stats, connections_closed), offsetof(iocpnet_stats, bytes_received),
                                   offsetof(iocpnet_stats, bytes_sent)};
    static const char *const names[5] = {"connections_accepted", "connections_connected", "connections_closed",
                                         "bytes_received", "bytes_sent"};
    for (int i = 0; i < 5; ++i) {
        if (offs[i] + 8 > sz) continue;
        uint64_t val;
        memcpy(&val, raw + offs[i], 8);
        if (val < a.o.stats_last[i])
            violation("iocpnet_get_stats: %s went down from %" PRIu64 " to %" PRIu64, names[i], a.o.stats_last[i],
                      val);
        a.o.stats_last[i] = val;
    }
}

void IOCPNET_CALL log_hook(void *user, uint32_t level, const char *msg);
struct HookState {
    std::atomic<iocpnet_port *> port{nullptr};
    std::atomic<int> mode{0};
};
HookState g_hook;

void act_set_log(Actor &a) {
    uint32_t v = a.rng.below(100);
    CallT ct("iocpnet_set_log", 0);
    if (v < 30) {
        expect(iocpnet_set_log(4 + a.rng.below(100), log_hook, &g_hook), INV, "iocpnet_set_log", 0, "level > DEBUG");
    } else if (v < 40) {
        expect(iocpnet_set_log(a.rng.below(4), nullptr, nullptr), OK_, "iocpnet_set_log", 0, "hook off");
    } else if (a.x.hook_mode >= 0) {
        expect(iocpnet_set_log(a.rng.below(4), log_hook, &g_hook), OK_, "iocpnet_set_log", 0, "the hook");
    }
}

void act_setcb(Actor &a) {
    Ctx &x = a.x;
    int v = int(a.rng.below(2));
    CallT ct("iocpnet_set_callbacks", v);
    if (a.rng.chance(10)) {
        iocpnet_callbacks bad = x.cbs[v];
        bad.struct_size = a.rng.below(8);
        expect(iocpnet_set_callbacks(x.port, &bad, &x.tags[v]), INV, "iocpnet_set_callbacks", 0,
               "struct_size below 8");
        expect(iocpnet_set_callbacks(nullptr, &x.cbs[v], &x.tags[v]), INV, "iocpnet_set_callbacks", 0, "port NULL");
        return;
    }
    expect(iocpnet_set_callbacks(x.port, &x.cbs[v], &x.tags[v]), OK_, "iocpnet_set_callbacks", v, "an equivalent set");
}

void act_destroy(Actor &a) {
    CallT ct("iocpnet_port_destroy", 0);
    if (a.in_cb) {
        expect(iocpnet_port_destroy(a.x.port), INCB, "iocpnet_port_destroy", 0, "own port, from a worker thread");
    } else {
        expect(iocpnet_port_destroy(nullptr), INV, "iocpnet_port_destroy", 0, "NULL");
    }
}

// ------------------------------------------------------------- dispatch

enum Act {
    A_SEND, A_SEND_SELF, A_SEND_MANY, A_CONNECT, A_CLOSE, A_CLOSE_SELF, A_LISTEN, A_UNLISTEN, A_LPORT, A_POST, A_USER,
    A_ADDR, A_STATS, A_SETCB, A_SETLOG, A_DESTROY, A_SLEEP, A_N
};
//                                 SEND SELF MANY CONN CLOSE CSELF LIST UNL LPORT POST USER ADDR STAT SETCB LOG DESTR SLEEP
const int kThreadW[A_N] = {300, 0, 60, 70, 40, 0, 12, 12, 12, 50, 50, 30, 20, 10, 5, 3, 120};
const int kCbW[A_N] = {100, 150, 25, 25, 15, 20, 6, 6, 4, 40, 20, 15, 8, 4, 2, 6, 0};

void do_action(Actor &a, Act act) {
    a.x.n_calls++;
    switch (act) {
    case A_SEND: act_send(a); break;
    case A_SEND_SELF:
        if (a.self && a.self->state.load() == 1) act_send(a, a.self);
        break;
    case A_SEND_MANY: act_send_many(a); break;
    case A_CONNECT: act_connect(a); break;
    case A_CLOSE: act_close(a); break;
    case A_CLOSE_SELF:
        if (a.self && a.self->state.load() == 1) act_close(a, a.self);
        break;
    case A_LISTEN:
        if (!a.in_cb || g_feat.cb_listen) act_listen(a);
        break;
    case A_UNLISTEN:
        if (!a.in_cb || g_feat.cb_listen) act_unlisten(a);
        break;
    case A_LPORT: act_listener_port(a); break;
    case A_POST: act_post(a); break;
    case A_USER: act_user(a); break;
    case A_ADDR: act_addr(a); break;
    case A_STATS: act_stats(a); break;
    case A_SETCB: act_setcb(a); break;
    case A_SETLOG: act_set_log(a); break;
    case A_DESTROY: act_destroy(a); break;
    case A_SLEEP: sleep_us(a.rng.below(400)); break;
    case A_N: break;
    }
}
Act pick_act(Rng &rng, const int *w) {
    int total = 0;
    for (int i = 0; i < A_N; ++i) total += w[i];
    int v = int(rng.below(uint32_t(total)));
    for (int i = 0; i < A_N; ++i) {
        if (v < w[i]) return Act(i);
        v -= w[i];
    }
    return A_SLEEP;
}
void random_actions(Actor &a, int n) {
    for (int i = 0; i < n; ++i) do_action(a, pick_act(a.rng, kCbW));
}

// ------------------------------------------------------------- receiving

void defer_bad(ConnRec &r, const std::string &what) {
    r.recv_bad = true;
    if (r.bad_first.empty()) r.bad_first = what;
}

void handle_msg(Ctx &x, ConnRec &r, const char *p, size_t n) {
    if (r.recv_bad) return;
    if (n == 0) { // an empty framed message
        if (!r.got_hello) defer_bad(r, "an empty message before the peer's hello");
        return;
    }
    Msg m;
    std::string err = parse_msg(p, n, &m);
    if (!err.empty()) {
        if (!r.got_hello) {
            defer_bad(r, "first message: " + err);
            return;
        }
        violation("conn %#" PRIx64 " (%s, %s, message #%" PRIu64 " from peer %#" PRIx64 "): %s", r.id,
                  framing_name(r.framing), r.client ? "connect side" : "accept side", r.msgs, r.peer, err.c_str());
    }
    if (!r.got_hello) {
        char want_role = r.client ? 'S' : 'C';
        if (m.kind != 'H' || m.role != want_role || m.listener != r.listener) {
            char buf[200];
            snprintf(buf, sizeof buf,
                     "first message is not the peer's hello (kind %c, role %c, listener %#" PRIx64
                     ", expected role %c listener %#" PRIx64 ")",
                     m.kind, m.role ? m.role : '?', m.listener, want_role, r.listener);
            defer_bad(r, buf);
            return;
        }
        r.got_hello = true;
        r.peer = m.conn;
        r.msgs++;
        return;
    }
    r.msgs++;
    if (m.kind == 'H')
        violation("conn %#" PRIx64 " (%s): a second hello (from conn %#" PRIx64 ") after the one from %#" PRIx64,
                  r.id, framing_name(r.framing), m.conn, r.peer);
    const Entry *mine = nullptr;
    for (auto &e : m.entries)
        if (e.conn == r.peer) mine = &e;
    if (!mine) {
        std::string to;
        for (auto &e : m.entries) {
            char b[24];
            snprintf(b, sizeof b, " %#" PRIx64, e.conn);
            to += b;
        }
        violation("conn %#" PRIx64 " (%s) got a message sent to conn(s)%s, but its peer is %#" PRIx64
                  " (foreign bytes)",
                  r.id, framing_name(r.framing), to.c_str(), r.peer);
    }
    if (mine->seq != kUnseq) {
        uint32_t &want = r.expect[m.origin];
        if (mine->seq != want)
            violation("conn %#" PRIx64 " (%s, peer %#" PRIx64 "): from origin %u got message #%u, expected #%u (%s)",
                      r.id, framing_name(r.framing), r.peer, m.origin, mine->seq, want,
                      mine->seq < want ? "duplicate or reordered" : "messages lost in the middle, or reordered");
        want = mine->seq + 1;
    }
    x.n_msgs++;
    x.n_bytes += n;
}

void receive(Ctx &x, ConnRec &r, const uint8_t *d, size_t n) {
    const char *p = reinterpret_cast<const char *>(d);
    // framing invariants (every mode)
    if (n > 0 && !d) violation("on_data(%#" PRIx64 ") with NULL data and len %zu", r.id, n);
    if (r.framing == IOCPNET_FRAMING_RAW) {
        if (n == 0) violation("on_data(%#" PRIx64 ") with len 0 on a RAW connection", r.id);
    } else if (r.framing != kUnknownFraming) {
        if (n > r.max)
            violation("on_data(%#" PRIx64 ", %s): a message of %zu bytes, max_message_size %u", r.id,
                      framing_name(r.framing), n, r.max);
        if (r.framing == IOCPNET_FRAMING_LINE && n && memchr(p, '\n', n))
            violation("on_data(%#" PRIx64 ", LINE): a message containing \"\\n\"", r.id);
    }
    if (r.mode != VERIFIED) return;
    if (r.framing != IOCPNET_FRAMING_RAW) {
        handle_msg(x, r, p, n);
        return;
    }
    if (r.recv_bad) return;
    r.raw.append(p, n);
    for (;;) {
        size_t have = r.raw.size() - r.raw_off;
        if (have < 10) break;
        const char *q = r.raw.data() + r.raw_off;
        uint64_t len = 0;
        if (q[0] != 'Z' || !get_hex(q + 2, 8, &len) || len < kDataHead || len > kMaxMsg) {
            std::string what = "RAW stream: no message header at stream offset ~" + std::to_string(r.raw_off);
            if (!r.got_hello) {
                defer_bad(r, what);
                return;
            }
            violation("conn %#" PRIx64 " (RAW, peer %#" PRIx64 ", after %" PRIu64 " messages): %s (bytes lost, "
                      "reordered or foreign)",
                      r.id, r.peer, r.msgs, what.c_str());
        }
        if (have < len) break;
        handle_msg(x, r, q, size_t(len));
        if (r.recv_bad) return;
        r.raw_off += size_t(len);
    }
    if (r.raw_off > 65536 && r.raw_off * 2 > r.raw.size()) {
        r.raw.erase(0, r.raw_off);
        r.raw_off = 0;
    }
}

// ------------------------------------------------------------- callbacks

Ctx *ctx_of(void *user, int v, iocpnet_port *port, const char *cb) {
    Ctx *x = g_ctx.load();
    if (!x) violation("%s ran with no port alive (after iocpnet_port_destroy returned)", cb);
    if (user != &x->tags[v])
        violation("%s of callback set %d got user pointer %p, registered with it: %p", cb, v, user,
                  static_cast<void *>(&x->tags[v]));
    if (port != x->port) violation("%s got port %p, not %p", cb, static_cast<void *>(port), static_cast<void *>(x->port));
    if (x->destroy_returned.load()) violation("%s ran after iocpnet_port_destroy returned", cb);
    enter_engine(*x);
    return x;
}
struct Busy {
    ConnRec &r;
    Busy(ConnRec &rr, const char *cb) : r(rr) {
        if (r.busy.exchange(1) != 0)
            violation("%s(%#" PRIx64 ") started while another callback of the same connection was running", cb, r.id);
    }
    ~Busy() { r.busy.store(0); }
};
const char *state_name(int s) {
    static const char *const n[] = {"before on_accept/on_connect", "open", "after on_close began",
                                    "after a failed on_connect"};
    return s >= 0 && s < 4 ? n[s] : "?";
}
void expect_open(ConnRec &r, const char *cb) {
    int s = r.state.load();
    if (s != 1) violation("%s(%#" PRIx64 ") %s", cb, r.id, state_name(s));
    if (r.close_ok_self.load())
        violation("%s(%#" PRIx64 ") after iocpnet_close returned OK inside one of its own callbacks (only on_close "
                  "may follow)",
                  cb, r.id);
    if (g_feat.strict_close && r.close_ok.load())
        violation("%s(%#" PRIx64 ") started after iocpnet_close returned OK on another thread (--strict-close: only "
                  "on_close may follow)",
                  cb, r.id);
}

void h_accept(Ctx &x, iocpnet_port *, iocpnet_listener lid, iocpnet_conn c) {
    CbT tr("on_accept", c);
    if (c == 0) violation("on_accept with conn id 0 (listener %#" PRIx64 ")", lid);
    bool created;
    auto rp = get_or_create(x, c, &created);
    ConnRec &r = *rp;
    if (!created || r.from_connect.load())
        violation("on_accept(%#" PRIx64 "): id already known (%s)", c,
                  r.from_connect.load() ? "returned by iocpnet_connect" : "announced before");
    r.from_accept.store(true);
    Busy b(r, "on_accept");
    int s0 = 0;
    if (!r.state.compare_exchange_strong(s0, 1)) violation("on_accept(%#" PRIx64 ") %s", c, state_name(s0));
    r.n_accept++;
    x.n_accepts++;
    std::shared_ptr<ListenerRec> l;
    {
        std::lock_guard<std::mutex> lk(x.mu);
        auto it = x.lst_by_id.find(lid);
        if (it != x.lst_by_id.end()) l = it->second;
    }
    Origin &o = origin(x);
    r.listener = lid;
    r.client = false;
    r.raw_owner = int(o.rng.below(uint32_t(x.nthreads)));
    if (l) {
        r.mode = l->mode;
        r.framing = l->framing;
        r.max = l->max;
        r.idle = l->idle;
        r.target_port = l->port;
    } else {
        r.mode = MUTE;
        r.idle = UINT32_MAX; // unknown
    }
    r.cfg.store(2, std::memory_order_release);
    Actor a{x, o, o.rng, true, &r, "on_accept"};
    {
        void *u = reinterpret_cast<void *>(5);
        CallT ct("iocpnet_conn_get_user", c);
        expect(iocpnet_conn_get_user(x.port, c, &u), OK_, "iocpnet_conn_get_user", c, "inside on_accept");
        if (u) violation("on_accept(%#" PRIx64 "): the new connection's user pointer is %p, not NULL", c, u);
    }
    check_address(a, c, &r, true, true, "inside on_accept");
    check_address(a, c, &r, false, true, "inside on_accept");
    if (r.mode == VERIFIED) send_hello(a, r);
    add_live(x, r);
    random_actions(a, int(o.rng.below(3)));
}

void h_connect_body(Ctx &x, iocpnet_port *, ConnRec &r, int status) {
    uint64_t c = r.id;
    int s0 = r.state.load();
    if (s0 != 0) violation("on_connect(%#" PRIx64 ", %s) %s", c, rc_name(status), state_name(s0));
    r.n_connect++;
    int close_ok = r.close_ok.load();
    if (!in_table(status) || status == IOCPNET_E_LAST_)
        violation("on_connect(%#" PRIx64 ") with status %d, not a code of the table", c, status);
    if (close_ok && g_feat.strict_close && status != IOCPNET_E_SHUTTING_DOWN)
        violation("on_connect(%#" PRIx64 ", %s) started after iocpnet_close returned OK on the connecting id "
                  "(--strict-close; the header: \"its on_connect comes with IOCPNET_E_SHUTTING_DOWN\")",
                  c, rc_name(status));
    if (status == IOCPNET_E_SHUTTING_DOWN && !r.close_calls.load() && !x.destroy_started.load())
        violation("on_connect(%#" PRIx64 ", SHUTTING_DOWN) with no close and no destroy", c);
    if (status == IOCPNET_E_TIMEOUT && r.connect_to == 0)
        violation("on_connect(%#" PRIx64 ", TIMEOUT) without a connect timeout", c);
    r.connect_status = status;
    r.connect_cb_destroy = x.destroy_started.load() ? 1 : 0;
    Origin &o = origin(x);
    Actor a{x, o, o.rng, true, &r, "on_connect"};
    if (status == IOCPNET_OK) {
        r.state.store(1);
        x.n_connect_ok++;
        check_user(a, c, &r, true, "inside on_connect(OK)");
        check_address(a, c, &r, true, true, "inside on_connect(OK)");
        check_address(a, c, &r, false, true, "inside on_connect(OK)");
        random_actions(a, int(o.rng.below(3)));
        return;
    }
    set_final_state(x, r, 3);
    x.n_connect_fail++;
    check_user(a, c, &r, true, "inside a failed on_connect (works until it returns)");
    {
        CallT ct("iocpnet_send", c);
        expect(iocpnet_send(x.port, c, "x", 1), NF, "iocpnet_send", c, "inside a failed on_connect");
        expect(iocpnet_conn_set_user(x.port, c, user_value(c, 1)), NF, "iocpnet_conn_set_user", c,
               "inside a failed on_connect");
    }
    random_actions(a, int(o.rng.below(2)));
}

void h_connect(Ctx &x, iocpnet_port *p, iocpnet_conn c, int status) {
    CbT tr("on_connect", c);
    bool created;
    auto rp = get_or_create(x, c, &created);
    ConnRec &r = *rp;
    if (r.from_accept.load()) violation("on_connect(%#" PRIx64 ") for an id announced by on_accept", c);
    ensure_configured(r);
    {
        Busy b(r, "on_connect");
        h_connect_body(x, p, r, status);
    }
    if (status != IOCPNET_OK) origin(x).dying.push_back(rp);
}

void h_data(Ctx &x, iocpnet_port *, iocpnet_conn c, const uint8_t *d, size_t n) {
    CbT tr("on_data", c);
    auto rp = find(x, c);
    if (!rp) violation("on_data(%#" PRIx64 ", %zu bytes) for an id never announced", c, n);
    ConnRec &r = *rp;
    ensure_configured(r);
    Busy b(r, "on_data");
    expect_open(r, "on_data");
    if (r.framing_error) violation("on_data(%#" PRIx64 ") after on_framing_error (the engine stops reading)", c);
    receive(x, r, d, n);
    Origin &o = origin(x);
    Actor a{x, o, o.rng, true, &r, "on_data"};
    random_actions(a, int(o.rng.below(3)));
}

void h_drain(Ctx &x, iocpnet_port *, iocpnet_conn c) {
    CbT tr("on_drain", c);
    auto rp = find(x, c);
    if (!rp) violation("on_drain(%#" PRIx64 ") for an id never announced", c);
    ConnRec &r = *rp;
    ensure_configured(r);
    Busy b(r, "on_drain");
    expect_open(r, "on_drain");
    r.drains++;
    x.n_drains++;
    Origin &o = origin(x);
    Actor a{x, o, o.rng, true, &r, "on_drain"};
    if (data_ok(a, r)) send_data(a, r);
    random_actions(a, int(o.rng.below(2)));
}

void h_framing_error(Ctx &x, iocpnet_port *, iocpnet_conn c, int err) {
    CbT tr("on_framing_error", c);
    auto rp = find(x, c);
    if (!rp) violation("on_framing_error(%#" PRIx64 ") for an id never announced", c);
    ConnRec &r = *rp;
    ensure_configured(r);
    Busy b(r, "on_framing_error");
    expect_open(r, "on_framing_error");
    if (err != IOCPNET_E_MESSAGE_TOO_LARGE)
        violation("on_framing_error(%#" PRIx64 ") with %s, documented: MESSAGE_TOO_LARGE", c, rc_name(err));
    if (r.framing == IOCPNET_FRAMING_RAW) violation("on_framing_error(%#" PRIx64 ") on a RAW connection", c);
    if (r.framing_error) violation("on_framing_error(%#" PRIx64 ") twice", c);
    r.framing_error = true;
    x.n_framing++;
    Origin &o = origin(x);
    Actor a{x, o, o.rng, true, &r, "on_framing_error"};
    if (data_ok(a, r) && o.rng.chance(50)) send_data(a, r, true); // "a last reply may be sent"
    random_actions(a, int(o.rng.below(2)));
}

void h_close(Ctx &x, iocpnet_port *, iocpnet_conn c, int reason) {
    CbT tr("on_close", c);
    auto rp = find(x, c);
    if (!rp && !g_feat.unannounced) {
        bool created;
        rp = get_or_create(x, c, &created);
        rp->tolerated = true;
        rp->from_accept = true;
        rp->n_close++;
        x.n_tolerated++;
        origin(x).dying.push_back(rp);
        return;
    }
    if (!rp)
        violation("on_close(%#" PRIx64 ", %s) for an id never announced (no on_accept; destroy %s)", c,
                  rc_name(reason), x.destroy_started.load() ? "running" : "not started");
    ConnRec &r = *rp;
    ensure_configured(r);
    {
        Busy b(r, "on_close");
        int s0 = r.state.load();
        if (s0 != 1)
            violation("on_close(%#" PRIx64 ", %s) %s%s", c, rc_name(reason), state_name(s0),
                      s0 == 0 ? (r.from_connect.load() ? " (connect side, before on_connect)"
                                                       : " (accept side: no on_accept)")
                              : "");
        set_final_state(x, r, 2);
        r.n_close++;
        r.close_reason = reason;
        x.n_closes++;
        int close_ok = r.close_ok.load();
        bool destroying = x.destroy_started.load();
        bool documented = reason == IOCPNET_OK || reason == IOCPNET_E_PEER_CLOSED ||
                          reason == IOCPNET_E_CONN_RESET || reason == IOCPNET_E_TIMEOUT ||
                          reason == IOCPNET_E_MESSAGE_TOO_LARGE;
        if (!documented)
            violation("on_close(%#" PRIx64 ") with reason %s (%d), documented: OK, PEER_CLOSED, CONN_RESET, TIMEOUT, "
                      "MESSAGE_TOO_LARGE",
                      c, rc_name(reason), reason);
        if (reason == IOCPNET_E_TIMEOUT) {
            x.n_timeouts++;
            if (r.idle == 0)
                violation("on_close(%#" PRIx64 ", TIMEOUT) on a connection without an idle timeout (%s side)", c,
                          r.client ? "connect" : "accept");
        }
        if (reason == IOCPNET_E_MESSAGE_TOO_LARGE && !r.framing_error)
            violation("on_close(%#" PRIx64 ", MESSAGE_TOO_LARGE) without on_framing_error", c);
        if (close_ok && reason != IOCPNET_OK && !(r.framing_error && reason == IOCPNET_E_MESSAGE_TOO_LARGE))
            violation("on_close(%#" PRIx64 ", %s) after iocpnet_close returned OK (documented: reason IOCPNET_OK)", c,
                      rc_name(reason));
        if (r.framing_error && !r.close_calls.load() && !destroying && reason != IOCPNET_E_MESSAGE_TOO_LARGE)
            violation("on_close(%#" PRIx64 ", %s) after on_framing_error (documented: \"on_close follows with err as "
                      "its reason\")",
                      c, rc_name(reason));
        Origin &o = origin(x);
        Actor a{x, o, o.rng, true, &r, "on_close"};
        check_user(a, c, &r, true, "inside on_close (works until it returns)");
        check_address(a, c, &r, true, true, "inside on_close (works until it returns)");
        check_address(a, c, &r, false, true, "inside on_close (works until it returns)");
        {
            CallT ct("iocpnet_send", c);
            expect(iocpnet_send(x.port, c, "", 0), NF, "iocpnet_send", c, "inside its own on_close");
            expect(iocpnet_conn_set_user(x.port, c, user_value(c, 2)), NF, "iocpnet_conn_set_user", c,
                   "inside its own on_close");
            expect(iocpnet_close(x.port, c, IOCPNET_CLOSE_ABORT), NF, "iocpnet_close", c, "inside its own on_close");
        }
        Actor other{x, o, o.rng, true, nullptr, "on_close"};
        random_actions(other, int(o.rng.below(3)));
    }
    origin(x).dying.push_back(rp);
}

template <int V> struct Cbs {
    static void IOCPNET_CALL accept(void *u, iocpnet_port *p, iocpnet_listener l, iocpnet_conn c) {
        h_accept(*ctx_of(u, V, p, "on_accept"), p, l, c);
    }
    static void IOCPNET_CALL connect(void *u, iocpnet_port *p, iocpnet_conn c, int st) {
        h_connect(*ctx_of(u, V, p, "on_connect"), p, c, st);
    }
    static void IOCPNET_CALL data(void *u, iocpnet_port *p, iocpnet_conn c, const uint8_t *d, size_t n) {
        h_data(*ctx_of(u, V, p, "on_data"), p, c, d, n);
    }
    static void IOCPNET_CALL drain(void *u, iocpnet_port *p, iocpnet_conn c) {
        h_drain(*ctx_of(u, V, p, "on_drain"), p, c);
    }
    static void IOCPNET_CALL close(void *u, iocpnet_port *p, iocpnet_conn c, int reason) {
        h_close(*ctx_of(u, V, p, "on_close"), p, c, reason);
    }
    static void IOCPNET_CALL framing(void *u, iocpnet_port *p, iocpnet_conn c, int err) {
        h_framing_error(*ctx_of(u, V, p, "on_framing_error"), p, c, err);
    }
    static iocpnet_callbacks get() {
        iocpnet_callbacks cb;
        memset(&cb, 0, sizeof cb);
        cb.struct_size = sizeof cb;
        cb.on_accept = accept;
        cb.on_connect = connect;
        cb.on_data = data;
        cb.on_drain = drain;
        cb.on_close = close;
        cb.on_framing_error = framing;
        return cb;
    }
};

// ------------------------------------------------------------- log hook

void IOCPNET_CALL log_hook(void *user, uint32_t level, const char *msg) {
    CbT tr("log hook", 0);
    if (user != &g_hook) violation("the log hook got user pointer %p, not %p", user, static_cast<void *>(&g_hook));
    if (level > IOCPNET_LOG_DEBUG) violation("the log hook got level %u", level);
    if (!msg) violation("the log hook got a NULL message");
    thread_local Rng rng(std::hash<std::thread::id>()(std::this_thread::get_id()) ^ 0x1234);
    Ctx *x = g_ctx.load();
    if (x) x->n_hook++;
    int mode = g_hook.mode.load();
    if ((mode & 1) && rng.chance(25)) {
        CallT ct("iocpnet_set_log(from the hook)", 0);
        expect(iocpnet_set_log(IOCPNET_LOG_DEBUG, log_hook, &g_hook), OK_, "iocpnet_set_log", 0,
               "from inside the log hook");
    }
    iocpnet_port *port = g_hook.port.load();
    if (!(mode & 2) || !port) return;
    int found = 0;
    for (const char *p = msg; *p && found < 3;) {
        if (*p < '0' || *p > '9') {
            ++p;
            continue;
        }
        uint64_t id = 0;
        while (*p >= '0' && *p <= '9') id = id * 10 + uint64_t(*p++ - '0');
        found++;
        void *u = nullptr;
        CallT ct("iocpnet_conn_get_user(from the hook)", id);
        int rc = iocpnet_conn_get_user(port, id, &u);
        expect(rc, OK_ | NF, "iocpnet_conn_get_user", id, "from inside the log hook, an id it saw");
        if (rc == IOCPNET_OK && !user_ok(id, u))
            violation("get_user(%#" PRIx64 ") from the hook = %p, never set on this id", id, u);
    }
}

// ------------------------------------------------------------- watchdog

struct Watch {
    std::atomic<int64_t> deadline{0};
    std::atomic<const char *> what{""};
    std::atomic<int64_t> started{0};
};
Watch g_watch;
void arm(const char *what, double seconds) {
    g_watch.what = what;
    g_watch.started = now_us();
    g_watch.deadline = now_us() + int64_t(seconds * 1e6);
}
void disarm() { g_watch.deadline = 0; }
void watchdog_main() {
    set_role("watchdog");
    for (;;) {
        sleep_us(50000);
        int64_t d = g_watch.deadline.load();
        if (d && now_us() > d) {
            char buf[300];
            snprintf(buf, sizeof buf, "%s did not finish within %.1f s", g_watch.what.load(),
                     double(d - g_watch.started.load()) / 1e6);
            die(2, "HANG", buf);
        }
    }
}

// ------------------------------------------------------------- iteration

void IOCPNET_CALL barrier_fn(void *arg) {
    // Posted just before destroy: destroy cannot return before it has run, so
    // the fuzz threads may keep calling while it waits for them.
    auto *x = static_cast<Ctx *>(arg);
    CbT tr("barrier post", 0);
    enter_engine(*x);
    x->b_running = true;
    {
        CallT ct("iocpnet_port_destroy", 0);
        expect(iocpnet_port_destroy(x->port), INCB, "iocpnet_port_destroy", 0, "from a posted function during destroy");
    }
    int64_t end = now_us() + 4000000;
    while (x->racers.load() > 0) {
        if (now_us() > end) die(2, "HANG", "fuzz threads still inside API calls 4 s after iocpnet_port_destroy began");
        sleep_us(100);
    }
    x->b_done = true;
}

void fuzz_main(Ctx *x, int idx) {
    static const char *const roles[] = {"fuzz-0", "fuzz-1", "fuzz-2", "fuzz-3", "fuzz-4", "fuzz-5", "fuzz-6", "fuzz-7"};
    set_role(roles[idx & 7]);
    Origin &o = origin(*x);
    o.fuzz = idx;
    Actor a{*x, o, o.rng, false, nullptr, "fuzz thread"};
    int64_t race_end = 0;
    for (;;) {
        if (x->destroy_started.load()) {
            if (!g_feat.race) break;
            if (!race_end) race_end = now_us() + a.rng.below(25000);
            if (now_us() > race_end) break;
        }
        if (x->destroy_returned.load())
            violation("iocpnet_port_destroy returned while the barrier post had not finished (post lost, or destroy "
                      "did not wait for it)");
        do_action(a, pick_act(a.rng, kThreadW));
    }
    x->racers--;
}

void final_checks(Ctx &x) {
    std::lock_guard<std::mutex> lk(x.mu);
    for (auto &kv : x.conns) {
        ConnRec &r = *kv.second;
        uint64_t c = r.id;
        if (r.tolerated) continue;
        bool fc = r.from_connect.load(), fa = r.from_accept.load();
        if (!fc && !fa) violation("on_connect(%#" PRIx64 ") for an id iocpnet_connect never returned", c);
        if (fa && r.n_close.load() != 1)
            violation("accepted conn %#" PRIx64 " (%s; close calls %d, OK %d): on_close fired %d times before destroy "
                      "returned",
                      c, mode_name(r.mode), r.close_calls.load(), r.close_ok.load(), r.n_close.load());
        if (fc) {
            if (r.n_connect.load() != 1)
                violation("conn %#" PRIx64 " returned by iocpnet_connect: on_connect fired %d times (destroy returned)",
                          c, r.n_connect.load());
            int want = r.connect_status == IOCPNET_OK ? 1 : 0;
            if (r.n_close.load() != want)
                violation("conn %#" PRIx64 " (%s, on_connect %s %s destroy began; close calls %d, OK %d): on_close "
                          "fired %d times before destroy returned, expected %d",
                          c, mode_name(r.mode), rc_name(r.connect_status),
                          r.connect_cb_destroy == 1 ? "after" : "before", r.close_calls.load(), r.close_ok.load(),
                          r.n_close.load(), want);
        }
        if (r.drains.load() > r.wouldblocks.load())
            violation("conn %#" PRIx64 ": %u on_drain but only %u WOULD_BLOCK", c, r.drains.load(),
                      r.wouldblocks.load());
        if (r.mode == VERIFIED && !r.bad_first.empty()) {
            uint16_t port = r.target_port;
            auto it = x.port_uses.find(port);
            if (it != x.port_uses.end() && it->second >= 2) {
                x.n_excused++; // two listeners of this run had this port: the peer may be a stranger
            } else {
                violation("conn %#" PRIx64 " (%s %s, %s side, listener %#" PRIx64 " port %u): %s", c,
                          mode_name(r.mode), framing_name(r.framing), r.client ? "connect" : "accept", r.listener,
                          unsigned(port), r.bad_first.c_str());
            }
        }
        if (fa && !x.lst_by_id.count(r.listener))
            violation("on_accept(%#" PRIx64 ") named listener %#" PRIx64 ", never returned by iocpnet_listen", c,
                      r.listener);
        if (r.mode == VERIFIED && r.got_hello && !r.recv_bad) {
            auto pit = x.conns.find(r.peer);
            if (pit == x.conns.end())
                violation("conn %#" PRIx64 ": the peer's hello named conn %#" PRIx64 ", not an id of this port", c,
                          r.peer);
            ConnRec &p = *pit->second;
            if (p.got_hello && !p.recv_bad && p.peer != c)
                violation("conns %#" PRIx64 " and %#" PRIx64 " disagree on their pairing (%#" PRIx64 ")", c, r.peer,
                          p.peer);
            if (r.remote[0] && p.local[0] && strcmp(r.remote, p.local) != 0)
                violation("conn %#" PRIx64 " peer address %s != its peer %#" PRIx64 "'s local address %s", c,
                          r.remote, p.id, p.local);
            if (r.framing_error && p.max_sent.load() <= r.max)
                violation("conn %#" PRIx64 " (%s, max %u): on_framing_error although its peer %#" PRIx64
                          " never queued a message longer than %" PRIu64,
                          c, framing_name(r.framing), r.max, p.id, p.max_sent.load());
        }
    }
    uint32_t n = std::min(x.nposts.load(), Ctx::kPosts);
    for (uint32_t i = 0; i < n; ++i) {
        int rc = x.posts[i].rc.load(), ran = x.posts[i].ran.load();
        if (rc == IOCPNET_OK && ran != 1)
            violation("post #%u returned OK but its function ran %d times before destroy returned", i, ran);
        if (rc != IOCPNET_OK && ran != 0) violation("post #%u returned %s but its function ran", i, rc_name(rc));
    }
}

struct Totals {
    uint64_t iters = 0, msgs = 0, bytes = 0, conns = 0, closes = 0, posts = 0, framing = 0, timeouts = 0, wb = 0,
             calls = 0, excused = 0, hook = 0, tolerated = 0;
    double destroy_max = 0;
};

void dump_state(FILE *f) {
    Ctx *x = g_ctx.load();
    if (!x) return;
    std::unique_lock<std::mutex> lk(x->mu, std::try_to_lock);
    if (!lk.owns_lock()) {
        fprintf(f, "    (model busy: no state dump)\n");
        return;
    }
    fprintf(f, "    model: destroy %s; posts %u made; listeners:\n",
            x->destroy_returned ? "returned" : x->destroy_started ? "running" : "not started", x->nposts.load());
    for (auto &l : x->listeners)
        fprintf(f, "      listener %#" PRIx64 " port %u %s %s, created in %s%s, %s%s\n", l->id, unsigned(l->port),
                mode_name(l->mode), framing_name(l->framing), l->created_in,
                l->during_destroy ? " (listen returned OK after destroy began)" : "",
                l->unlisten_ok.load() ? "unlistened in " : "never unlistened by us",
                l->unlisten_ok.load() && l->unlistened_in.load() ? l->unlistened_in.load() : "");
    int shown = 0, open = 0;
    for (auto &kv : x->conns) {
        ConnRec &r = *kv.second;
        int st = r.state.load();
        bool pending = (st == 0 && r.from_connect.load()) || st == 1;
        if (!pending) continue;
        open++;
        if (shown++ < 12)
            fprintf(f, "      conn %#" PRIx64 " %s side, %s, %s, close calls %d (OK %d)\n", r.id,
                    r.from_accept.load() ? "accept" : "connect", st == 0 ? "on_connect not yet" : "open, no on_close",
                    mode_name(r.mode), r.close_calls.load(), r.close_ok.load());
    }
    fprintf(f, "    %d connection(s) still waiting for on_connect/on_close\n", open);
    uint32_t n = std::min(x->nposts.load(), Ctx::kPosts), waiting = 0;
    for (uint32_t i = 0; i < n; ++i) waiting += x->posts[i].rc.load() == IOCPNET_OK && !x->posts[i].ran.load();
    fprintf(f, "    %u post(s) returned OK and have not run yet; barrier post %s\n", waiting,
            x->b_done ? "done" : x->b_running ? "running" : "not run yet");
}

uint32_t env_backend(const char **name) {
    const char *e = getenv("IOCPNET_BACKEND");
    *name = e ? e : "default";
    if (!e) return 0;
    if (!strcmp(e, "io_uring")) return IOCPNET_BACKEND_IO_URING;
    if (!strcmp(e, "epoll")) return IOCPNET_BACKEND_EPOLL;
    if (!strcmp(e, "iocp")) return IOCPNET_BACKEND_IOCP;
    return 0;
}

void run_iteration(uint64_t seed, int iter, Totals &tot) {
    static std::atomic<uint64_t> tags{1};
    g_run.seed = seed;
    g_run.iter = iter;
    std::unique_ptr<Ctx> xp(new Ctx);
    Ctx &x = *xp;
    x.seed = seed;
    x.iter = iter;
    x.tag = tags.fetch_add(1);
    const char *bn;
    x.expect_backend = env_backend(&bn);
    Rng rng(mix(seed, 0));
    iocpnet_config_init(&x.cfg);
    static const uint32_t workers[] = {0, 1, 2, 3};
    x.cfg.worker_threads = workers[rng.below(4)];
    static const uint64_t queues[] = {0, 64 * 1024, 256 * 1024, 1024 * 1024};
    x.cfg.max_send_queue_bytes = queues[rng.below(4)];
    x.max_queue = x.cfg.max_send_queue_bytes ? x.cfg.max_send_queue_bytes : 4u << 20;
    if (g_feat.idle && rng.chance(15)) x.cfg.idle_timeout_ms = rng.range(150, 800);
    if (rng.chance(20)) x.cfg.connect_timeout_ms = rng.range(200, 3000);
    if (rng.chance(20)) x.cfg.max_connections = rng.range(16, 64);
    if (rng.chance(30)) x.cfg.tcp_nodelay = rng.below(2);
    if (rng.chance(10)) x.cfg.keepalive_s = 30;
    x.nthreads = int(rng.range(2, 4));
    x.hook_mode = g_feat.hook && rng.chance(40) ? int(rng.below(4)) : -1;
    int run_ms = int(rng.range(100, 1200));
    for (int v = 0; v < 2; ++v) x.tags[v] = UserTag{&x, v};
    x.cbs[0] = Cbs<0>::get();
    x.cbs[1] = Cbs<1>::get();

    if (g_verbose)
        printf("[iter %d] seed %#" PRIx64 ": workers %u, threads %d, queue %" PRIu64 ", idle %u, max_conns %u, hook %d, "
               "run %d ms\n",
               iter, seed, x.cfg.worker_threads, x.nthreads, x.max_queue, x.cfg.idle_timeout_ms,
               x.cfg.max_connections, x.hook_mode, run_ms);
    fflush(stdout);

    g_ctx = &x;
    if (x.hook_mode >= 0) {
        g_hook.mode = x.hook_mode;
        expect(iocpnet_set_log(IOCPNET_LOG_DEBUG, log_hook, &g_hook), OK_, "iocpnet_set_log", 0, "install the hook");
    }
    arm("iocpnet_port_create", 10);
    {
        CallT ct("iocpnet_port_create", 0);
        int rc = iocpnet_port_create(&x.cfg, &x.cbs[0], &x.tags[0], &x.port);
        expect(rc, OK_, "iocpnet_port_create", 0, "a valid config");
    }
    g_hook.port = x.port;
    arm("the run phase", run_ms / 1000.0 + 20);
    {
        Origin &o = origin(x);
        o.fuzz = -1;
        Actor a{x, o, o.rng, false, nullptr, "main"};
        int n = int(rng.range(1, 3));
        for (int i = 0; i < n; ++i) act_listen(a);
    }
    x.racers = x.nthreads;
    std::vector<std::thread> threads;
    for (int i = 0; i < x.nthreads; ++i) threads.emplace_back(fuzz_main, &x, i);
    sleep_us(int64_t(run_ms) * 1000);

    arm("posting the barrier", 5);
    {
        CallT ct("iocpnet_post(barrier)", 0);
        expect(iocpnet_post(x.port, barrier_fn, &x), OK_, "iocpnet_post", 0, "before destroy");
    }
    if (!g_feat.race) {
        x.destroy_started = true;
        for (auto &t : threads) t.join();
        threads.clear();
    }
    // The hook is process-wide: it stops touching this port before destroy
    // (a call it started already may race with destroy, as allowed); it stays
    // installed, still calling iocpnet_set_log, which needs no port.
    g_hook.port = nullptr;
    x.destroy_started = true;
    arm("iocpnet_port_destroy", 5);
    int64_t t0 = now_us();
    {
        CallT ct("iocpnet_port_destroy", 0);
        expect(iocpnet_port_destroy(x.port), OK_, "iocpnet_port_destroy", 0, "from the main thread");
    }
    double dt = double(now_us() - t0) / 1e6;
    x.destroy_returned = true;
    arm("joining the fuzz threads", 10);
    for (auto &t : threads) t.join();
    if (!x.b_done.load())
        violation("iocpnet_port_destroy returned before the function posted just before it finished");
    if (x.hook_mode >= 0)
        expect(iocpnet_set_log(IOCPNET_LOG_ERROR, nullptr, nullptr), OK_, "iocpnet_set_log", 0, "hook off");
    arm("the final checks", 30);
    final_checks(x);
    disarm();
    g_ctx = nullptr;

    tot.iters++;
    tot.msgs += x.n_msgs;
    tot.bytes += x.n_bytes;
    tot.conns += x.n_accepts + x.n_connect_ok;
    tot.closes += x.n_closes;
    tot.posts += x.n_posts_run;
    tot.framing += x.n_framing;
    tot.timeouts += x.n_timeouts;
    tot.wb += x.n_wb;
    tot.calls += x.n_calls;
    tot.excused += x.n_excused;
    tot.hook += x.n_hook;
    tot.tolerated += x.n_tolerated;
    tot.destroy_max = std::max(tot.destroy_max, dt);
    if (g_verbose)
        printf("[iter %d] ok: %" PRIu64 " accepted, %" PRIu64 " connected (%" PRIu64 " failed), %" PRIu64
               " closed, %" PRIu64 " msgs verified (%" PRIu64 " KiB), %" PRIu64 " posts, %" PRIu64 " framing errors, %" PRIu64
               " timeouts, %" PRIu64 " log lines; destroy %.3f s\n",
               iter, x.n_accepts.load(), x.n_connect_ok.load(), x.n_connect_fail.load(), x.n_closes.load(),
               x.n_msgs.load(), x.n_bytes.load() / 1024, x.n_posts_run.load(), x.n_framing.load(),
               x.n_timeouts.load(), x.n_hook.load(), dt);
}

uint64_t parse_u64(const char *s) { return strtoull(s, nullptr, 0); }

} // namespace

int main(int argc, char **argv) {
    double seconds = 60;
    bool have_seed = false, same_seed = false;
    uint64_t seed = 0;
    long max_iters = -1;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto val = [&]() -> const char * {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s needs a value\n", a.c_str());
                exit(2);
            }
            return argv[++i];
        };
        if (a == "--seconds") seconds = atof(val());
        else if (a == "--seed") seed = parse_u64(val()), have_seed = true;
        else if (a == "--iterations") max_iters = atol(val());
        else if (a == "--same-seed") same_seed = true;
        else if (a == "--verbose" || a == "-v") g_verbose = true;
        else if (a == "--strict-close") g_feat.strict_close = true;
        else if (a == "--framing") {
            std::string f = val();
            g_feat.only_framing = f == "raw" ? 0 : f == "length" ? 1 : f == "line" ? 2 : -1;
            if (g_feat.only_framing < 0) {
                fprintf(stderr, "--framing raw|length|line\n");
                return 2;
            }
        }
        else if (a == "--disable") {
            std::string list = val();
            size_t p = 0;
            while (p <= list.size()) {
                size_t q = list.find(',', p);
                std::string f = list.substr(p, q == std::string::npos ? std::string::npos : q - p);
                if (f == "hook") g_feat.hook = false;
                else if (f == "race") g_feat.race = false;
                else if (f == "idle") g_feat.idle = false;
                else if (f == "cb-listen") g_feat.cb_listen = false;
                else if (f == "chaos") g_feat.chaos = false;
                else if (f == "addr") g_feat.addr = false;
                else if (f == "unannounced") g_feat.unannounced = false;
                else if (!f.empty()) {
                    fprintf(stderr, "unknown feature %s (hook, race, idle, cb-listen, chaos, addr, unannounced)\n", f.c_str());
                    return 2;
                }
                if (q == std::string::npos) break;
                p = q + 1;
            }
        } else {
            fprintf(stderr,
                    "usage: %s [--seconds N] [--seed S] [--iterations K] [--same-seed] [--verbose] [--strict-close]\n"
                    "          [--disable hook,race,idle,cb-listen,chaos,addr,unannounced]\n",
                    argv[0]);
            return 2;
        }
    }
    const char *bn;
    env_backend(&bn);
    g_run.backend = bn;
    set_role("main");
    g_dump_state = dump_state;
    std::thread(watchdog_main).detach();

    static const uint64_t fixed[] = {1, 2, 3, 4};
    uint64_t fresh = have_seed ? seed : (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}() ^
                                            uint64_t(now_us());
    printf("api_fuzzer: backend %s, %.0f s budget; seeds: %s%#" PRIx64 "%s\n", bn, seconds,
           have_seed ? "" : "fixed 1..4, then fresh ", fresh, same_seed ? " (repeated)" : ", +1 per iteration");
    fflush(stdout);
    Totals tot;
    int64_t start = now_us();
    int iter = 0;
    for (;; ++iter) {
        if (max_iters >= 0 && iter >= max_iters) break;
        if (iter > 0 && double(now_us() - start) / 1e6 >= seconds) break;
        uint64_t s;
        if (!have_seed && iter < 4) s = fixed[iter];
        else {
            int k = have_seed ? iter : iter - 4;
            s = same_seed ? fresh : fresh + uint64_t(k);
        }
        run_iteration(s, iter, tot);
    }
    printf("api_fuzzer: %" PRIu64 " iterations in %.1f s, no violation: %" PRIu64 " connections, %" PRIu64
           " closes, %" PRIu64 " messages verified (%.1f MiB), %" PRIu64 " posts run, %" PRIu64
           " framing errors, %" PRIu64 " idle timeouts, %" PRIu64 " WOULD_BLOCK, %" PRIu64 " actions, %" PRIu64
           " log lines, %" PRIu64 " pairs excused (port reuse); slowest destroy %.3f s\n",
           tot.iters, double(now_us() - start) / 1e6, tot.conns, tot.closes, tot.msgs, double(tot.bytes) / 1048576.0,
           tot.posts, tot.framing, tot.timeouts, tot.wb, tot.calls, tot.hook, tot.excused, tot.destroy_max);
    if (tot.tolerated)
        printf("api_fuzzer: --disable unannounced let %" PRIu64 " on_close for never-announced ids through\n",
               tot.tolerated);
    fflush(stdout);
    return 0;
}
