// The API fuzzer's thread trace, failure reports, result codes and watchdog
// (declared in fuzz_report.hpp).
#include "fuzz_report.hpp"

namespace fuzz {

// ------------------------------------------------------ run identity, death

RunId g_run;
static std::mutex g_die_mu;

// Per-thread trace of what each thread is doing, for hang reports.
static constexpr int kSlots = 512;
static Slot g_slots[kSlots];
static Slot g_overflow_slot;
namespace {
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
} // namespace
static thread_local SlotHolder t_slot;
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

static void dump_threads(FILE *f) {
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
static std::string set_names(uint32_t m) {
    std::string s;
    for (int i = 0; i < 32; ++i)
        if (m & (1u << i)) s += std::string(s.empty() ? "" : ", ") + rc_name(-i);
    return "{" + s + "}";
}
int expect(int rc, uint32_t allowed, const char *call, uint64_t id, const char *why) {
    if (!in_table(rc) || !(allowed & B(rc)))
        violation("%s(%#" PRIx64 ") returned %s (%d); allowed here: %s -- %s; detail: \"%s\"", call, id, rc_name(rc),
                  rc, set_names(allowed).c_str(), why, iocpnet_last_error_message());
    return rc;
}

// ------------------------------------------------------------- watchdog

namespace {
struct Watch {
    std::atomic<int64_t> deadline{0};
    std::atomic<const char *> what{""};
    std::atomic<int64_t> started{0};
};
} // namespace
static Watch g_watch;
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

} // namespace fuzz
