// Support for the API tests: an RAII port, a thread-safe recorder of every
// callback (per-connection logs that check the documented order and detect
// concurrent callbacks of one connection), waiting with deadlines, and
// helpers for error codes. Public header only; the raw peer is rawsock.hpp.
//
// Catch2 assertions are not thread-safe: code that runs on engine threads
// (hooks) or helper threads reports through Recorder::fail(), and the test
// thread checks Recorder::problems() (check_clean) at the end.
#pragma once
#include <iocpnet/iocpnet.h>

#include <catch2/catch.hpp>

#include "rawsock.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace t {

// Generous: the machine may be loaded. Nothing here measures speed.
constexpr double kDeadline = 30.0;

// Polls pred until it is true or `seconds` have passed; returns the last
// value of pred.
inline bool wait_until(const std::function<bool()> &pred, double seconds = kDeadline) {
    using clk = std::chrono::steady_clock;
    auto end = clk::now() + std::chrono::duration_cast<clk::duration>(std::chrono::duration<double>(seconds));
    for (;;) {
        if (pred()) return true;
        if (clk::now() >= end) return pred();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
}

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The name of an error code from the header's own table (independent of the
// library's iocpnet_err_name, which a test checks separately).
inline std::string rc_name(int rc) {
    if (rc == IOCPNET_OK) return "IOCPNET_OK";
#define T_XX_(name, value, msg)                                                                                        \
    if (rc == value) return "IOCPNET_E_" #name;
    IOCPNET_ERRNO_MAP(T_XX_)
#undef T_XX_
    return "unknown code " + std::to_string(rc);
}

// CHECK_RC(call, IOCPNET_E_X) prints names, and the thread's last error
// message, when it fails.
#define CHECK_RC(expr, expected)                                                                                       \
    do {                                                                                                               \
        int t_rc_ = (expr);                                                                                            \
        INFO(#expr " -> " << ::t::rc_name(t_rc_) << " (" << iocpnet_last_error_message() << ")");                      \
        CHECK(::t::rc_name(t_rc_) == ::t::rc_name(expected));                                                          \
    } while (0)
#define REQUIRE_RC(expr, expected)                                                                                     \
    do {                                                                                                               \
        int t_rc_ = (expr);                                                                                            \
        INFO(#expr " -> " << ::t::rc_name(t_rc_) << " (" << iocpnet_last_error_message() << ")");                      \
        REQUIRE(::t::rc_name(t_rc_) == ::t::rc_name(expected));                                                        \
    } while (0)

enum class Ev { accept, connect, data, drain, close, framing_error, peer_shutdown };
inline const char *ev_name(Ev e) {
    switch (e) {
    case Ev::accept: return "on_accept";
    case Ev::connect: return "on_connect";
    case Ev::data: return "on_data";
    case Ev::drain: return "on_drain";
    case Ev::close: return "on_close";
    case Ev::framing_error: return "on_framing_error";
    case Ev::peer_shutdown: return "on_peer_shutdown";
    }
    return "?";
}

struct Event {
    Ev type;
    int status; // connect / close / framing error code
    size_t len; // data
};

// One connection's log. `state`: 0 nothing yet, 1 open, 2 closed,
// 3 connect failed.
struct ConnLog {
    int state = 0;
    iocpnet_listener listener = 0;
    std::vector<Event> events;
    std::string data;                  // every on_data byte (keep_data)
    std::vector<std::string> messages; // each on_data call (keep_messages)
    uint64_t bytes = 0;
    int closes = 0;
    int close_reason = 1; // 1 = none yet
    int connect_status = 1;
    int drains = 0;
    int peer_shutdowns = 0;
    int framing_errors = 0;
    int framing_err = 1;
    std::atomic<int> busy{0};
};

class Recorder {
  public:
    // Set before the port is created.
    bool keep_data = true;
    bool keep_messages = false;
    bool keep_data_events = true;
    int spin_us = 0; // stay inside each callback this long (widens overlap windows)

    // Run after the event is recorded, outside the recorder's lock, on the
    // engine's thread. Report problems with fail().
    std::function<void(iocpnet_port *, iocpnet_listener, iocpnet_conn)> on_accept;
    std::function<void(iocpnet_port *, iocpnet_conn, int)> on_connect;
    std::function<void(iocpnet_port *, iocpnet_conn, const uint8_t *, size_t)> on_data;
    std::function<void(iocpnet_port *, iocpnet_conn)> on_drain;
    std::function<void(iocpnet_port *, iocpnet_conn, int)> on_close;
    std::function<void(iocpnet_port *, iocpnet_conn, int)> on_framing_error;
    std::function<void(iocpnet_port *, iocpnet_conn)> on_peer_shutdown;

    iocpnet_callbacks callbacks() const {
        iocpnet_callbacks c;
        memset(&c, 0, sizeof c);
        c.struct_size = sizeof c;
        c.on_accept = &cb_accept;
        c.on_connect = &cb_connect;
        c.on_data = &cb_data;
        c.on_drain = &cb_drain;
        c.on_close = &cb_close;
        c.on_framing_error = &cb_framing_error;
        c.on_peer_shutdown = &cb_peer_shutdown;
        return c;
    }

    void fail(const std::string &what) {
        std::lock_guard<std::mutex> lk(mu_);
        if (problems_.size() < 50) problems_.push_back(what);
    }
    std::vector<std::string> problems() {
        std::lock_guard<std::mutex> lk(mu_);
        return problems_;
    }
    int overlaps() const { return overlaps_.load(); }

    // Calls f(ConnLog&) under the lock (a default log if conn is unknown).
    template <class F> auto with(iocpnet_conn c, F f) {
        std::lock_guard<std::mutex> lk(mu_);
        auto it = logs_.find(c);
        if (it == logs_.end()) {
            ConnLog empty;
            return f(static_cast<const ConnLog &>(empty));
        }
        return f(static_cast<const ConnLog &>(*it->second));
    }
    bool has(iocpnet_conn c) {
        std::lock_guard<std::mutex> lk(mu_);
        return logs_.count(c) != 0;
    }
    std::string data(iocpnet_conn c) {
        return with(c, [](const ConnLog &l) { return l.data; });
    }
    std::vector<std::string> messages(iocpnet_conn c) {
        return with(c, [](const ConnLog &l) { return l.messages; });
    }
    std::vector<Event> events(iocpnet_conn c) {
        return with(c, [](const ConnLog &l) { return l.events; });
    }
    uint64_t bytes(iocpnet_conn c) {
        return with(c, [](const ConnLog &l) { return l.bytes; });
    }
    int closes(iocpnet_conn c) {
        return with(c, [](const ConnLog &l) { return l.closes; });
    }
    int close_reason(iocpnet_conn c) {
        return with(c, [](const ConnLog &l) { return l.close_reason; });
    }
    int connect_status(iocpnet_conn c) {
        return with(c, [](const ConnLog &l) { return l.connect_status; });
    }
    int drains(iocpnet_conn c) {
        return with(c, [](const ConnLog &l) { return l.drains; });
    }
    int peer_shutdowns(iocpnet_conn c) {
        return with(c, [](const ConnLog &l) { return l.peer_shutdowns; });
    }
    bool is_closed(iocpnet_conn c) { return closes(c) > 0; }

    size_t n_accepted() {
        std::lock_guard<std::mutex> lk(mu_);
        return accepted_.size();
    }
    size_t n_connected() { // on_connect with IOCPNET_OK
        std::lock_guard<std::mutex> lk(mu_);
        return connected_.size();
    }
    size_t n_connect_failed() {
        std::lock_guard<std::mutex> lk(mu_);
        return connect_failed_;
    }
    size_t n_closed() {
        std::lock_guard<std::mutex> lk(mu_);
        return closed_;
    }
    uint64_t total_bytes() const { return total_bytes_.load(); }
    std::vector<iocpnet_conn> accepted() {
        std::lock_guard<std::mutex> lk(mu_);
        return accepted_;
    }
    std::vector<iocpnet_conn> connected() {
        std::lock_guard<std::mutex> lk(mu_);
        return connected_;
    }
    // The i-th accepted connection, waiting for it; 0 if none came in time.
    iocpnet_conn wait_accepted(size_t i = 0, double seconds = kDeadline) {
        iocpnet_conn c = 0;
        wait_until(
            [&] {
                std::lock_guard<std::mutex> lk(mu_);
                if (accepted_.size() <= i) return false;
                c = accepted_[i];
                return true;
            },
            seconds);
        return c;
    }
    bool wait_closed(iocpnet_conn c, double seconds = kDeadline) {
        return wait_until([&] { return closes(c) > 0; }, seconds);
    }
    bool wait_bytes(iocpnet_conn c, uint64_t n, double seconds = kDeadline) {
        return wait_until([&] { return bytes(c) >= n; }, seconds);
    }
    std::set<std::thread::id> threads() {
        std::lock_guard<std::mutex> lk(mu_);
        return threads_;
    }

    // After iocpnet_port_destroy returned: every connection that opened got
    // exactly one on_close (destroy closes them all).
    std::vector<std::string> not_closed_once() {
        std::lock_guard<std::mutex> lk(mu_);
        std::vector<std::string> out;
        for (auto &kv : logs_) {
            const ConnLog &l = *kv.second;
            if (l.state == 3) continue; // failed connect: no on_close
            if (l.closes != 1)
                out.push_back("conn " + std::to_string(kv.first) + ": on_close fired " + std::to_string(l.closes) +
                              " times");
        }
        return out;
    }

  private:
    static Recorder *self(void *user) { return static_cast<Recorder *>(user); }

    // Marks a callback of c as running (detects overlap) and records e.
    ConnLog *enter(iocpnet_conn c) {
        ConnLog *l;
        {
            std::lock_guard<std::mutex> lk(mu_);
            auto &p = logs_[c];
            if (!p) p.reset(new ConnLog);
            l = p.get();
            threads_.insert(std::this_thread::get_id());
        }
        if (l->busy.exchange(1) != 0) overlaps_.fetch_add(1);
        return l;
    }
    void leave(ConnLog *l) {
        if (spin_us > 0) {
            auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us);
            while (std::chrono::steady_clock::now() < end) {
            }
        }
        l->busy.store(0);
    }
    void problem_locked(iocpnet_conn c, const std::string &what) {
        if (problems_.size() < 50) problems_.push_back("conn " + std::to_string(c) + ": " + what);
    }
    void expect_open_locked(iocpnet_conn c, ConnLog *l, Ev e) {
        if (l->state != 1)
            problem_locked(c, std::string(ev_name(e)) + " in state " + std::to_string(l->state) +
                                  " (0 = before accept/connect, 2 = after on_close, 3 = after a failed connect)");
    }

    static void IOCPNET_CALL cb_accept(void *user, iocpnet_port *port, iocpnet_listener lis, iocpnet_conn c) {
        Recorder *r = self(user);
        ConnLog *l = r->enter(c);
        {
            std::lock_guard<std::mutex> lk(r->mu_);
            if (c == 0) r->problem_locked(c, "on_accept with id 0");
            if (l->state != 0) r->problem_locked(c, "on_accept in state " + std::to_string(l->state));
            l->state = 1;
            l->listener = lis;
            l->events.push_back({Ev::accept, 0, 0});
        }
        if (r->on_accept) r->on_accept(port, lis, c);
        {
            // Counted once the test's own hook has returned: wait_accepted
            // then sees what the hook stored.
            std::lock_guard<std::mutex> lk(r->mu_);
            r->accepted_.push_back(c);
        }
        r->leave(l);
    }
    static void IOCPNET_CALL cb_connect(void *user, iocpnet_port *port, iocpnet_conn c, int status) {
        Recorder *r = self(user);
        ConnLog *l = r->enter(c);
        {
            std::lock_guard<std::mutex> lk(r->mu_);
            if (l->state != 0) r->problem_locked(c, "on_connect in state " + std::to_string(l->state));
            if (status > 0) r->problem_locked(c, "on_connect with positive status");
            l->state = status == IOCPNET_OK ? 1 : 3;
            l->events.push_back({Ev::connect, status, 0});
        }
        if (r->on_connect) r->on_connect(port, c, status);
        {
            // Like an accept: the outcome shows once the test's hook has
            // returned, so a wait on it also sees what the hook stored.
            std::lock_guard<std::mutex> lk(r->mu_);
            l->connect_status = status;
            if (status == IOCPNET_OK) r->connected_.push_back(c);
            else r->connect_failed_++;
        }
        r->leave(l);
    }
    static void IOCPNET_CALL cb_data(void *user, iocpnet_port *port, iocpnet_conn c, const uint8_t *d, size_t n) {
        Recorder *r = self(user);
        ConnLog *l = r->enter(c);
        {
            std::lock_guard<std::mutex> lk(r->mu_);
            r->expect_open_locked(c, l, Ev::data);
            if (n > 0 && d == nullptr) r->problem_locked(c, "on_data with NULL data");
            if (r->keep_data_events) l->events.push_back({Ev::data, 0, n});
            if (r->keep_data && d) l->data.append(reinterpret_cast<const char *>(d), n);
            if (r->keep_messages) l->messages.emplace_back(d ? reinterpret_cast<const char *>(d) : "", d ? n : 0);
            l->bytes += n;
        }
        r->total_bytes_.fetch_add(n);
        if (r->on_data) r->on_data(port, c, d, n);
        r->leave(l);
    }
    static void IOCPNET_CALL cb_drain(void *user, iocpnet_port *port, iocpnet_conn c) {
        Recorder *r = self(user);
        ConnLog *l = r->enter(c);
        {
            std::lock_guard<std::mutex> lk(r->mu_);
            r->expect_open_locked(c, l, Ev::drain);
            l->events.push_back({Ev::drain, 0, 0});
        }
        if (r->on_drain) r->on_drain(port, c);
        {
            // Counted after the hook: a test that refills once it sees the
            // count must not race a hook that inspects the queue.
            std::lock_guard<std::mutex> lk(r->mu_);
            l->drains++;
        }
        r->leave(l);
    }
    static void IOCPNET_CALL cb_framing_error(void *user, iocpnet_port *port, iocpnet_conn c, int err) {
        Recorder *r = self(user);
        ConnLog *l = r->enter(c);
        {
            std::lock_guard<std::mutex> lk(r->mu_);
            r->expect_open_locked(c, l, Ev::framing_error);
            l->events.push_back({Ev::framing_error, err, 0});
            l->framing_errors++;
            l->framing_err = err;
        }
        if (r->on_framing_error) r->on_framing_error(port, c, err);
        r->leave(l);
    }
    static void IOCPNET_CALL cb_peer_shutdown(void *user, iocpnet_port *port, iocpnet_conn c) {
        Recorder *r = self(user);
        ConnLog *l = r->enter(c);
        {
            std::lock_guard<std::mutex> lk(r->mu_);
            r->expect_open_locked(c, l, Ev::peer_shutdown);
            if (l->peer_shutdowns) r->problem_locked(c, "on_peer_shutdown fired twice");
            l->events.push_back({Ev::peer_shutdown, 0, 0});
            l->peer_shutdowns++;
        }
        if (r->on_peer_shutdown) r->on_peer_shutdown(port, c);
        r->leave(l);
    }
    static void IOCPNET_CALL cb_close(void *user, iocpnet_port *port, iocpnet_conn c, int reason) {
        Recorder *r = self(user);
        ConnLog *l = r->enter(c);
        {
            std::lock_guard<std::mutex> lk(r->mu_);
            if (l->state == 2) r->problem_locked(c, "on_close fired twice");
            else if (l->state != 1) r->problem_locked(c, "on_close in state " + std::to_string(l->state));
            if (reason > 0) r->problem_locked(c, "on_close with positive reason");
            l->state = 2;
            l->closes++;
            l->close_reason = reason;
            l->events.push_back({Ev::close, reason, 0});
            r->closed_++;
        }
        if (r->on_close) r->on_close(port, c, reason);
        r->leave(l);
    }

    std::mutex mu_;
    std::map<iocpnet_conn, std::unique_ptr<ConnLog>> logs_;
    std::vector<iocpnet_conn> accepted_, connected_;
    size_t connect_failed_ = 0, closed_ = 0;
    std::vector<std::string> problems_;
    std::set<std::thread::id> threads_;
    std::atomic<int> overlaps_{0};
    std::atomic<uint64_t> total_bytes_{0};
};

// Joins a helper thread when the scope ends, also when a REQUIRE failed;
// `stop` (if set) runs first to make the thread finish.
struct JoinGuard {
    std::thread &thread;
    std::function<void()> stop;
    ~JoinGuard() {
        if (thread.joinable()) {
            if (stop) stop();
            thread.join();
        }
    }
};

// Holds a worker busy: post block_until_open(&gate), wait for gate.running,
// do what must happen while the worker cannot run its tasks, set gate.open.
struct Gate {
    std::atomic<bool> running{false}, open{false};
};
inline void IOCPNET_CALL block_until_open(void *arg) {
    auto *g = static_cast<Gate *>(arg);
    g->running = true;
    wait_until([&] { return g->open.load(); }, 20);
}

inline iocpnet_config default_config() {
    iocpnet_config c;
    iocpnet_config_init(&c);
    return c;
}

inline iocpnet_conn_options default_options() {
    iocpnet_conn_options o;
    iocpnet_conn_options_init(&o);
    return o;
}

// An RAII port: created with the recorder's callbacks (rec may be NULL),
// destroyed at scope exit. Declare it after the Recorder it uses.
class Port {
  public:
    explicit Port(Recorder *rec, const iocpnet_config *cfg = nullptr) {
        iocpnet_callbacks cbs;
        if (rec) cbs = rec->callbacks();
        int rc = iocpnet_port_create(cfg, rec ? &cbs : nullptr, rec, &p_);
        INFO("iocpnet_port_create -> " << rc_name(rc) << " (" << iocpnet_last_error_message() << ")");
        REQUIRE(rc == IOCPNET_OK);
        REQUIRE(p_ != nullptr);
    }
    ~Port() {
        if (p_) iocpnet_port_destroy(p_);
    }
    Port(const Port &) = delete;
    Port &operator=(const Port &) = delete;
    int destroy() {
        int rc = iocpnet_port_destroy(p_);
        if (rc == IOCPNET_OK) p_ = nullptr;
        return rc;
    }
    // Destroys the port on a helper thread and waits up to `seconds`. True if
    // destroy returned (its result in *rc). False if it did not: the port is
    // leaked and the helper thread left blocked, so that the test can fail
    // instead of hanging (the process ends anyway).
    bool destroy_within(double seconds, int *rc = nullptr);
    // Forgets the port without destroying it (after a hang).
    iocpnet_port *leak() {
        iocpnet_port *p = p_;
        p_ = nullptr;
        return p;
    }
    iocpnet_port *get() const { return p_; }
    operator iocpnet_port *() const { return p_; }

  private:
    iocpnet_port *p_ = nullptr;
};

// Runs f on a helper thread and waits up to `seconds` for it to return.
// True if it did. If not, the thread is detached and left blocked: whatever f
// uses must outlive the process (capture shared_ptrs, or leak it).
inline bool finishes_within(std::function<void()> f, double seconds) {
    auto done = std::make_shared<std::atomic<bool>>(false);
    auto fn = std::make_shared<std::function<void()>>(std::move(f));
    std::thread th([done, fn] {
        (*fn)();
        done->store(true);
    });
    bool ok = wait_until([&] { return done->load(); }, seconds);
    if (ok) th.join();
    else th.detach();
    return ok;
}

inline bool Port::destroy_within(double seconds, int *rc) {
    auto result = std::make_shared<std::atomic<int>>(1);
    iocpnet_port *p = p_;
    bool ok = finishes_within([p, result] { result->store(iocpnet_port_destroy(p)); }, seconds);
    if (!ok) {
        p_ = nullptr; // leaked: a second destroy would block as well
        return false;
    }
    if (result->load() == IOCPNET_OK) p_ = nullptr;
    if (rc) *rc = result->load();
    return true;
}

// Listens on host:0 and returns the port number picked.
inline uint16_t listen_on(iocpnet_port *p, iocpnet_listener *out = nullptr, const char *host = "127.0.0.1",
                          const iocpnet_conn_options *opt = nullptr) {
    iocpnet_listener l = 0;
    int rc = opt ? iocpnet_listen_ex(p, host, 0, opt, &l) : iocpnet_listen(p, host, 0, &l);
    INFO("listen on " << (host ? host : "(null)") << " -> " << rc_name(rc) << " (" << iocpnet_last_error_message()
                      << ")");
    REQUIRE(rc == IOCPNET_OK);
    REQUIRE(l != 0);
    uint16_t port = 0;
    REQUIRE(iocpnet_listener_port(p, l, &port) == IOCPNET_OK);
    REQUIRE(port != 0);
    if (out) *out = l;
    return port;
}

// A listener (with opt), one raw peer connected to it (rcvbuf > 0: its
// SO_RCVBUF) and the engine's id of that connection, from rec's on_accept.
struct Accepted {
    raw::Socket peer;
    iocpnet_conn conn = 0;
};
inline Accepted accept_raw(Recorder &rec, iocpnet_port *p, const iocpnet_conn_options *opt = nullptr,
                           int rcvbuf = 0) {
    uint16_t port = listen_on(p, nullptr, "127.0.0.1", opt);
    size_t before = rec.n_accepted();
    Accepted a;
    a.peer = raw::Socket::connect("127.0.0.1", port, 30000, rcvbuf);
    REQUIRE(a.peer.valid());
    a.conn = rec.wait_accepted(before);
    REQUIRE(a.conn != 0);
    return a;
}

// Starts a connection and returns its id (on_connect reports the outcome).
inline iocpnet_conn connect_to(iocpnet_port *p, uint16_t port, const char *host = "127.0.0.1",
                               const iocpnet_conn_options *opt = nullptr) {
    iocpnet_conn c = 0;
    int rc = opt ? iocpnet_connect_ex(p, host, port, opt, &c) : iocpnet_connect(p, host, port, &c);
    INFO("connect to " << host << ":" << port << " -> " << rc_name(rc) << " (" << iocpnet_last_error_message()
                       << ")");
    REQUIRE(rc == IOCPNET_OK);
    REQUIRE(c != 0);
    return c;
}

// Makes rec echo every on_data back on the same connection. With
// closing_ok, NOT_FOUND / SHUTTING_DOWN are accepted (the test closes
// connections, or destroys the port, while data flows).
inline void make_echo(Recorder &rec, bool closing_ok = false) {
    rec.on_data = [&rec, closing_ok](iocpnet_port *p, iocpnet_conn c, const uint8_t *d, size_t n) {
        int rc = iocpnet_send(p, c, d, n);
        if (rc == IOCPNET_OK) return;
        if (closing_ok && (rc == IOCPNET_E_NOT_FOUND || rc == IOCPNET_E_SHUTTING_DOWN)) return;
        rec.fail("echo send on conn " + std::to_string(c) + " -> " + rc_name(rc));
    };
}

// No problem recorded, no callbacks of one connection overlapped; with
// after_destroy, every opened connection was closed exactly once.
inline void check_clean(Recorder &rec, bool after_destroy = false) {
    auto problems = rec.problems();
    for (auto &s : problems) FAIL_CHECK(s);
    CHECK(problems.empty());
    CHECK(rec.overlaps() == 0);
    if (after_destroy) {
        auto bad = rec.not_closed_once();
        for (auto &s : bad) FAIL_CHECK(s);
        CHECK(bad.empty());
    }
}

inline iocpnet_stats stats(iocpnet_port *p) {
    iocpnet_stats s;
    memset(&s, 0, sizeof s);
    s.struct_size = sizeof s;
    int rc = iocpnet_get_stats(p, &s);
    REQUIRE(rc == IOCPNET_OK);
    return s;
}

// A port's send queues empty within the deadline. on_close does not wait for a
// graceful close's flush, so right after it the stats may still count bytes.
inline bool queues_drain(iocpnet_port *p) {
    return wait_until([&] { return stats(p).send_queue_bytes == 0; });
}

// Deterministic pseudo-random bytes.
inline std::string random_bytes(size_t n, uint32_t seed) {
    std::mt19937 rng(seed);
    std::string s(n, '\0');
    for (size_t i = 0; i < n; i++) s[i] = static_cast<char>(rng() & 0xff);
    return s;
}

// The byte at stream offset i of a recognizable pattern (no period of a
// power of two, so a dropped or doubled chunk shows).
inline char pattern_byte(uint64_t i) { return static_cast<char>((i * 7 + i / 251) & 0xff); }
inline std::string pattern(uint64_t from, size_t n) {
    std::string s(n, '\0');
    for (size_t i = 0; i < n; i++) s[i] = pattern_byte(from + i);
    return s;
}

// Index of the first differing byte (or of the shorter end), -1 if equal.
inline long long first_mismatch(const std::string &a, const std::string &b) {
    size_t n = a.size() < b.size() ? a.size() : b.size();
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return static_cast<long long>(i);
    return a.size() == b.size() ? -1 : static_cast<long long>(n);
}

// Big-endian helpers for the test's own message formats.
inline void put_u32(std::string &s, uint32_t v) {
    s.push_back(static_cast<char>(v >> 24));
    s.push_back(static_cast<char>(v >> 16));
    s.push_back(static_cast<char>(v >> 8));
    s.push_back(static_cast<char>(v));
}
inline uint32_t get_u32(const char *p) {
    const unsigned char *u = reinterpret_cast<const unsigned char *>(p);
    return (uint32_t(u[0]) << 24) | (uint32_t(u[1]) << 16) | (uint32_t(u[2]) << 8) | uint32_t(u[3]);
}

// The backend named by IOCPNET_BACKEND (as ctest sets it), or AUTO.
inline uint32_t env_backend() {
    const char *e = std::getenv("IOCPNET_BACKEND");
    if (!e) return IOCPNET_BACKEND_AUTO;
    std::string s(e);
    if (s == "io_uring") return IOCPNET_BACKEND_IO_URING;
    if (s == "epoll") return IOCPNET_BACKEND_EPOLL;
    if (s == "iocp") return IOCPNET_BACKEND_IOCP;
    return 0xFFFF;
}

// Resident set size of this process in KiB (Linux: VmRSS; Windows: the
// working set); -1 where unknown.
long long rss_kib();

} // namespace t
