// The API fuzzer's lowest layer (see api_fuzzer.cpp for what it checks and
// how to run it): the clock, the seeded random generator, the per-thread
// trace of callbacks and API calls (for hang and failure reports), how a
// failure is reported (die, violation), the result-code sets of the header's
// contract with expect(), and the hang watchdog. Defined in fuzz_report.cpp.
#pragma once

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

namespace fuzz {

using Clock = std::chrono::steady_clock;
inline int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now().time_since_epoch()).count();
}
inline void sleep_us(int64_t us) { std::this_thread::sleep_for(std::chrono::microseconds(us)); }

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
inline uint64_t mix(uint64_t a, uint64_t b) {
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
extern RunId g_run;

// Per-thread trace of what each thread is doing, for hang reports.
struct Slot {
    std::atomic<int> used{0};
    std::atomic<const char *> role{nullptr}, cb{nullptr}, call{nullptr}, outer{nullptr};
    std::atomic<uint64_t> cb_id{0}, call_id{0};
};
Slot *slot(); // this thread's slot (taken on first use)
void set_role(const char *r);

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

extern void (*g_dump_state)(FILE *); // the iteration's model, for reports

// Prints the report (seed, replay line, every thread's trace, the model) and
// exits with `code`.
[[noreturn]] void die(int code, const char *kind, const char *msg);

#if defined(__MINGW32__)
#define FZ_PRINTF(a, b) __attribute__((format(gnu_printf, a, b))) // libstdc++ selects mingw's C99 printf
#else
#define FZ_PRINTF(a, b) __attribute__((format(printf, a, b)))
#endif
[[noreturn]] void violation(const char *fmt, ...) FZ_PRINTF(1, 2);

// ----------------------------------------------------------- result codes

const char *rc_name(int rc);
constexpr uint32_t B(int rc) { return 1u << unsigned(-rc); }
inline constexpr uint32_t OK_ = B(IOCPNET_OK), INV = B(IOCPNET_E_INVALID_ARG), NOMEM = B(IOCPNET_E_NO_MEMORY),
                          NF = B(IOCPNET_E_NOT_FOUND), WB = B(IOCPNET_E_WOULD_BLOCK),
                          ADDRINV = B(IOCPNET_E_ADDR_INVALID), SD = B(IOCPNET_E_SHUTTING_DOWN),
                          INCB = B(IOCPNET_E_IN_CALLBACK), LIM = B(IOCPNET_E_LIMIT), SYS = B(IOCPNET_E_SYSTEM),
                          WS = B(IOCPNET_E_WRITE_SHUTDOWN);
inline bool in_table(int rc) { return rc <= 0 && rc > IOCPNET_E_LAST_; }
// Checks rc against the allowed set; returns rc.
int expect(int rc, uint32_t allowed, const char *call, uint64_t id, const char *why);

// ------------------------------------------------------------- watchdog

void arm(const char *what, double seconds); // die(2, "HANG") unless disarmed or re-armed within `seconds`
void disarm();
void watchdog_main();

} // namespace fuzz
