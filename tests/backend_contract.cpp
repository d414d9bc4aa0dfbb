// The backend contract (dll/backend/backend.hpp) tested directly, without
// the engine core, against every backend of this platform. The test thread
// plays every worker: it runs each worker's wait() in turn and is the owner
// of every socket (on worker 0 unless a test says otherwise), and each
// completion must come from the wait() of its socket's worker.
// IOCPNET_TEST_BACKEND=io_uring|epoll|iocp restricts the run to one backend.
#include <catch2/catch.hpp>

#include "backend/backend.hpp"
#include "errors.hpp"
#include "iocpnet/iocpnet.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>
#ifndef _WIN32
#include <sys/resource.h>
#include <unistd.h>
#endif

using namespace iocpnet;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::string> backend_names() {
#ifdef _WIN32
    std::vector<std::string> all{"iocp"};
#else
    std::vector<std::string> all{"io_uring", "epoll"};
#endif
    const char *only = std::getenv("IOCPNET_TEST_BACKEND");
    if (only && *only) return {only}; // an unknown name fails in make_backend
    return all;
}

uint32_t backend_kind(const std::string &name) {
    if (name == "io_uring") return IOCPNET_BACKEND_IO_URING;
    if (name == "epoll") return IOCPNET_BACKEND_EPOLL;
    if (name == "iocp") return IOCPNET_BACKEND_IOCP;
    return 0xFFFF; // backend_create rejects it
}

long elapsed_ms(Clock::time_point since) {
    return long(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - since).count());
}

// What the test knows about one socket; sock->ctx points here.
struct Track {
    BSock *sock = nullptr;
    // accept
    bool accepting = false;
    std::vector<BSock *> accepted;
    std::vector<NetAddr> peers; // accept's peer address, one per accepted socket
    std::vector<int> accept_errors;
    int accept_end = 1;
    // connect
    bool connecting = false;
    int connect_res = 1;
    // recv
    bool receiving = false;
    std::vector<uint8_t> rx;
    int recv_end = 1;
    // send
    bool sending = false, send_auto = false;
    const std::vector<uint8_t> *tx = nullptr;
    size_t sent = 0;
    int send_count = 0, send_error = 0;
    Clock::time_point send_started;

    bool pending() const { return accepting || connecting || receiving || sending; }
};

// The owner thread's loop: waits, checks each completion against the
// contract, and records it in the socket's Track.
struct Loop {
    Backend &be;
    unsigned workers;
    unsigned worker = 0; // attach() puts sockets here
    size_t misrouted = 0; // completions returned by another worker's wait()
    explicit Loop(Backend &b, unsigned nworkers = 1) : be(b), workers(nworkers) {}
    ~Loop() { CHECK(misrouted == 0); }
    // What send_rest points the iovecs at once send() has returned.
    std::vector<uint8_t> junk;
    // When set, recv buffers are kept (up to kHoldMax, or until a wait comes
    // back empty) before recv_done: the backend's pool runs dry meanwhile.
    bool hold = false;
    std::vector<Completion> held;
    static constexpr size_t kHoldMax = 4096;

    void give_back_held() {
        for (auto &c : held) be.recv_done(c);
        held.clear();
    }

    void attach(BSock *s, Track &t) {
        t.sock = s;
        s->ctx = &t;
        s->worker = worker;
    }

    void send_rest(Track &t) {
        // Two iovecs: the backend must gather them in order.
        const uint8_t *p = t.tx->data() + t.sent;
        size_t left = t.tx->size() - t.sent, half = left / 2;
        IoVec iov[2] = {{p, half}, {p + half, left - half}};
        t.sending = true;
        t.send_started = Clock::now();
        if (half) be.send(t.sock, iov, 2);
        else be.send(t.sock, iov + 1, 1);
        // iov[] is valid only during send(): a backend that reads it later
        // sends these bytes instead.
        if (junk.size() < left) junk.assign(left, 0xA5);
        iov[0] = IoVec{junk.data(), half};
        iov[1] = IoVec{junk.data() + half, left - half};
    }

    void dispatch(const Completion &c) {
        auto *t = static_cast<Track *>(c.ctx);
        REQUIRE(t != nullptr);
        CHECK(c.sock == t->sock);
        switch (c.op) {
        case Op::accept:
            CHECK(t->accepting);
            if (c.done) {
                CHECK(c.res < 0);
                t->accepting = false;
                t->accept_end = c.res;
            } else if (c.res == 0) {
                REQUIRE(c.accepted != nullptr);
                CHECK(c.accepted->fd != kNoSock);
                t->accepted.push_back(c.accepted);
                t->peers.push_back(c.peer);
            } else {
                t->accept_errors.push_back(c.res);
            }
            break;
        case Op::connect:
            CHECK(t->connecting);
            CHECK(c.done);
            t->connecting = false;
            t->connect_res = c.res;
            break;
        case Op::recv:
            CHECK(t->receiving);
            if (c.res > 0) {
                CHECK_FALSE(c.done);
                REQUIRE(c.data != nullptr);
                t->rx.insert(t->rx.end(), c.data, c.data + c.res);
                if (hold) held.push_back(c);
                else be.recv_done(c);
            } else {
                CHECK(c.done);
                t->receiving = false;
                t->recv_end = c.res;
            }
            break;
        case Op::send:
            CHECK(t->sending);
            CHECK(c.done);
            t->sending = false;
            t->send_count++;
            if (c.res < 0) {
                t->send_error = c.res;
                break;
            }
            t->sent += size_t(c.res);
            CHECK(t->sent <= t->tx->size());
            if (t->send_auto && t->sent < t->tx->size()) send_rest(*t);
            break;
        }
    }

    // One wait() per worker; with several, each waits a short slice.
    int pump(int timeout_ms) {
        int total = 0;
        for (unsigned w = 0; w < workers; w++) {
            Completion cs[32];
            int n = be.wait(w, cs, 32, workers == 1 ? timeout_ms : std::min(timeout_ms, 5));
            REQUIRE(n >= 0);
            REQUIRE(n <= 32);
            for (int i = 0; i < n; i++) {
                if (!cs[i].sock || cs[i].sock->worker != w) misrouted++;
                dispatch(cs[i]);
            }
            total += n;
        }
        if (total == 0 || held.size() >= kHoldMax) give_back_held();
        return total;
    }

    template <class Cond> bool run_until(Cond cond, long limit_ms = 10000) {
        auto start = Clock::now();
        while (!cond()) {
            if (elapsed_ms(start) > limit_ms) return false;
            pump(20);
        }
        return true;
    }

    // Cancels what is pending on t, waits for the final completions, releases.
    void finish(Track &t) {
        if (!t.sock) return;
        if (t.pending()) {
            be.cancel(t.sock);
            CHECK(run_until([&] { return !t.pending(); }, 5000));
        }
        if (!t.pending()) be.release(t.sock); // never free a socket with work in flight
        t.sock = nullptr;
    }
};

std::unique_ptr<Backend> make_backend(const std::string &name, unsigned workers = 1) {
    std::unique_ptr<Backend> be;
    int rc = backend_create(backend_kind(name), workers, &be);
    INFO("backend " << name << ": " << rc << " " << last_error());
    REQUIRE(rc == IOCPNET_OK);
    REQUIRE(be != nullptr);
    CHECK(be->kind() == backend_kind(name));
    return be;
}

Addr loopback(uint16_t port, bool passive) {
    Addr a;
    REQUIRE(net_resolve("127.0.0.1", port, passive, &a) == IOCPNET_OK);
    return a;
}

// A listener accepting on 127.0.0.1:<any>, and its port.
uint16_t start_listener(Loop &loop, Track &lt) {
    BSock *ls = nullptr;
    REQUIRE(loop.be.listen(loopback(0, true), 64, &ls) == IOCPNET_OK);
    loop.attach(ls, lt);
    uint16_t port = 0;
    REQUIRE(net_local_port(ls->fd, &port) == IOCPNET_OK);
    REQUIRE(port != 0);
    lt.accepting = true;
    loop.be.accept(ls);
    return port;
}

void start_connect(Loop &loop, Track &ct, uint16_t port) {
    Addr peer = loopback(port, false);
    BSock *cs = nullptr;
    REQUIRE(loop.be.open_stream(peer, &cs) == IOCPNET_OK);
    loop.attach(cs, ct);
    ct.connecting = true;
    loop.be.connect(cs, peer);
}

// listener + connected client + its accepted server side, each on the
// given worker.
struct Pair {
    Track lt, ct, st;
    explicit Pair(Loop &loop, unsigned lw = 0, unsigned cw = 0, unsigned sw = 0) {
        unsigned saved = loop.worker;
        loop.worker = lw;
        uint16_t port = start_listener(loop, lt);
        loop.worker = cw;
        start_connect(loop, ct, port);
        REQUIRE(loop.run_until([&] { return !ct.connecting && !lt.accepted.empty(); }));
        REQUIRE(ct.connect_res == IOCPNET_OK);
        loop.worker = sw;
        loop.attach(lt.accepted[0], st);
        loop.worker = saved;
    }
    void finish(Loop &loop) {
        loop.finish(ct);
        loop.finish(st);
        loop.finish(lt);
    }
};

std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
    std::vector<uint8_t> v(n);
    uint32_t x = seed;
    for (auto &b : v) {
        x = x * 1103515245u + 12345u; // any sequence in which a lost or reordered chunk shows
        b = uint8_t(x >> 16);
    }
    return v;
}

void start_recv(Loop &loop, Track &t) {
    t.receiving = true;
    loop.be.recv(t.sock);
}

} // namespace

TEST_CASE("backend: listen, connect and continuous accept", "[backend]") {
    auto name = GENERATE(from_range(backend_names()));
    SECTION(name) {
        auto be = make_backend(name);
        Loop loop{*be};
        Track lt;
        uint16_t port = start_listener(loop, lt);
        Track clients[8];
        for (auto &c : clients) start_connect(loop, c, port);
        // One accept submission yields a completion per connection.
        REQUIRE(loop.run_until([&] {
            for (auto &c : clients)
                if (c.connecting) return false;
            return lt.accepted.size() == 8;
        }));
        for (auto &c : clients) CHECK(c.connect_res == IOCPNET_OK);
        CHECK(lt.accept_errors.empty());
        CHECK(lt.accepting);
        for (BSock *s : lt.accepted) be->release(s); // never used: nothing pending
        for (auto &c : clients) loop.finish(c);
        loop.finish(lt);
        CHECK(lt.accept_end < 0);
    }
}

TEST_CASE("backend: 4 MiB each way, byte-exact, with partial sends", "[backend]") {
    auto name = GENERATE(from_range(backend_names()));
    SECTION(name) {
        auto be = make_backend(name);
        Loop loop{*be};
        Pair p(loop);
        const size_t size = 4u << 20;
        auto up = pattern(size, 1), down = pattern(size, 2);
        start_recv(loop, p.ct);
        start_recv(loop, p.st);
        p.ct.tx = &up;
        p.st.tx = &down;
        p.ct.send_auto = p.st.send_auto = true;
        loop.send_rest(p.ct);
        loop.send_rest(p.st);
        REQUIRE(loop.run_until([&] { return p.ct.rx.size() >= size && p.st.rx.size() >= size && !p.ct.sending && !p.st.sending; },
                               30000));
        INFO("send completions: client " << p.ct.send_count << ", server " << p.st.send_count);
        CHECK(p.ct.sent == size);
        CHECK(p.st.sent == size);
        CHECK(p.ct.send_error == 0);
        REQUIRE(p.st.rx.size() == size);
        REQUIRE(p.ct.rx.size() == size);
        CHECK(std::memcmp(p.st.rx.data(), up.data(), size) == 0);
        CHECK(std::memcmp(p.ct.rx.data(), down.data(), size) == 0);

        // Orderly shutdown of one direction ends the peer's recv with res 0.
        net_shutdown_write(p.ct.sock->fd);
        REQUIRE(loop.run_until([&] { return !p.st.receiving; }));
        CHECK(p.st.recv_end == 0);
        CHECK(p.ct.receiving); // the other direction is still open
        net_shutdown_write(p.st.sock->fd);
        REQUIRE(loop.run_until([&] { return !p.ct.receiving; }));
        CHECK(p.ct.recv_end == 0);
        p.finish(loop);
    }
}

// Sockets of one connection on three different workers (the listener, the
// client, the accepted side): every completion must come back from the
// wait() of its socket's worker (Loop counts the others), on IOCP too, where
// an accepted socket joins its worker's port only after the accept.
TEST_CASE("backend: completions come only from the owner worker's wait", "[backend]") {
    auto name = GENERATE(from_range(backend_names()));
    SECTION(name) {
        auto be = make_backend(name, 3);
        Loop loop{*be, 3};
        Pair a(loop, 0, 1, 2), b(loop, 2, 0, 1);
        const size_t size = 1u << 20;
        auto up = pattern(size, 21), down = pattern(size, 22);
        for (Pair *p : {&a, &b}) {
            start_recv(loop, p->ct);
            start_recv(loop, p->st);
            p->ct.tx = &up;
            p->st.tx = &down;
            p->ct.send_auto = p->st.send_auto = true;
            loop.send_rest(p->ct);
            loop.send_rest(p->st);
        }
        REQUIRE(loop.run_until([&] {
            for (Pair *p : {&a, &b})
                if (p->ct.rx.size() < size || p->st.rx.size() < size || p->ct.sending || p->st.sending) return false;
            return true;
        }, 30000));
        for (Pair *p : {&a, &b}) {
            CHECK(p->st.rx == up);
            CHECK(p->ct.rx == down);
            net_shutdown_write(p->ct.sock->fd);
        }
        REQUIRE(loop.run_until([&] { return !a.st.receiving && !b.st.receiving; }));
        CHECK(a.st.recv_end == 0);
        CHECK(b.st.recv_end == 0);
        a.finish(loop); // cancels on each worker: those completions are checked too
        b.finish(loop);
        CHECK(loop.misrouted == 0);
    }
}

static bool same(const NetAddr &a, const NetAddr &b) {
    return a.family == b.family && a.port == b.port && std::memcmp(a.ip, b.ip, sizeof a.ip) == 0;
}

TEST_CASE("backend: accept reports the peer's address", "[backend]") {
    auto name = GENERATE(from_range(backend_names()));
    SECTION(name) {
        auto be = make_backend(name);
        Loop loop{*be};
        Track lt;
        uint16_t port = start_listener(loop, lt);
        Track clients[4];
        for (auto &c : clients) start_connect(loop, c, port);
        REQUIRE(loop.run_until([&] {
            for (auto &c : clients)
                if (c.connecting) return false;
            return lt.accepted.size() == 4;
        }));
        REQUIRE(lt.peers.size() == 4);
        for (auto &c : clients) {
            REQUIRE(c.connect_res == IOCPNET_OK);
            NetAddr local;
            REQUIRE(net_sock_addr(c.sock->fd, false, &local) == IOCPNET_OK);
            CHECK(local.family == 4);
            bool found = false;
            for (const NetAddr &p : lt.peers) found = found || same(p, local);
            char text[64] = "";
            net_format(local, text, sizeof text);
            INFO("client " << text);
            CHECK(found);
        }
        for (BSock *s : lt.accepted) be->release(s);
        for (auto &c : clients) loop.finish(c);
        loop.finish(lt);
    }
}

// An idle connection has a recv pending and no data (IOCP: a zero-byte
// WSARecv, no buffer); data that comes later, small or large, arrives whole,
// and so does the peer's FIN or reset.
TEST_CASE("backend: an idle connection receives what arrives later", "[backend]") {
    auto name = GENERATE(from_range(backend_names()));
    SECTION(name) {
        auto be = make_backend(name);
        Loop loop{*be};
        Pair p(loop);
        start_recv(loop, p.st);
        auto idle = [&](long ms) {
            auto t0 = Clock::now();
            while (elapsed_ms(t0) < ms) loop.pump(20);
        };
        idle(300);
        CHECK(p.st.receiving);
        CHECK(p.st.rx.empty());

        auto hello = pattern(5, 31), big = pattern(300u << 10, 32);
        std::vector<uint8_t> all(hello);
        all.insert(all.end(), big.begin(), big.end());
        p.ct.tx = &hello;
        loop.send_rest(p.ct);
        REQUIRE(loop.run_until([&] { return p.st.rx.size() >= hello.size() && !p.ct.sending; }));
        CHECK(p.st.rx == hello);
        idle(200);
        p.ct.tx = &big;
        p.ct.sent = 0;
        p.ct.send_auto = true;
        loop.send_rest(p.ct);
        REQUIRE(loop.run_until([&] { return p.st.rx.size() >= all.size() && !p.ct.sending; }));
        CHECK(p.st.rx == all);
        CHECK(p.st.receiving);
        idle(100);

        SECTION("then the FIN") {
            net_shutdown_write(p.ct.sock->fd);
            REQUIRE(loop.run_until([&] { return !p.st.receiving; }));
            CHECK(p.st.recv_end == 0);
        }
        SECTION("then a reset") {
            net_set_abortive(p.ct.sock->fd);
            loop.finish(p.ct); // nothing pending: closed at once, with an RST
            REQUIRE(loop.run_until([&] { return !p.st.receiving; }));
            CHECK(p.st.recv_end == IOCPNET_E_CONN_RESET);
        }
        p.finish(loop);
    }
}

TEST_CASE("backend: recv buffers returned late lose no bytes", "[backend]") {
    auto name = GENERATE(from_range(backend_names()));
    SECTION(name) {
        auto be = make_backend(name);
        Loop loop{*be};
        loop.hold = true;
        const size_t size = 8u << 20;
        std::vector<std::vector<uint8_t>> data;
        std::vector<std::unique_ptr<Pair>> pairs;
        for (uint32_t i = 0; i < 4; i++) {
            pairs.emplace_back(new Pair(loop));
            data.push_back(pattern(size, 10 + i));
        }
        for (size_t i = 0; i < pairs.size(); i++) {
            Pair &p = *pairs[i];
            start_recv(loop, p.st);
            p.ct.tx = &data[i];
            p.ct.send_auto = true;
            loop.send_rest(p.ct);
        }
        REQUIRE(loop.run_until([&] {
            for (auto &p : pairs)
                if (p->st.rx.size() < size) return false;
            return true;
        }, 60000));
        loop.give_back_held();
        for (size_t i = 0; i < pairs.size(); i++) {
            REQUIRE(pairs[i]->st.rx.size() == size);
            CHECK(std::memcmp(pairs[i]->st.rx.data(), data[i].data(), size) == 0);
            CHECK(pairs[i]->st.receiving);
        }
        for (auto &p : pairs) p->finish(loop);
    }
}

TEST_CASE("backend: cancel ends pending recv, accept and send", "[backend]") {
    auto name = GENERATE(from_range(backend_names()));
    SECTION(name) {
        auto be = make_backend(name);
        Loop loop{*be};
        Pair p(loop);

        SECTION("recv with no data") {
            start_recv(loop, p.st);
            loop.pump(50);
            CHECK(p.st.receiving);
            be->cancel(p.st.sock);
            REQUIRE(loop.run_until([&] { return !p.st.receiving; }, 5000));
            CHECK(p.st.recv_end < 0);
            CHECK(p.st.rx.empty());
        }
        SECTION("accept with no client") {
            loop.pump(50);
            CHECK(p.lt.accepting);
            be->cancel(p.lt.sock);
            REQUIRE(loop.run_until([&] { return !p.lt.accepting; }, 5000));
            CHECK(p.lt.accept_end < 0);
        }
        SECTION("send to a peer that does not read") {
            std::vector<uint8_t> big = pattern(64u << 20, 3);
            p.ct.tx = &big;
            p.ct.send_auto = true;
            loop.send_rest(p.ct);
            // Keep sending until one send has made no progress for 300 ms:
            // both socket buffers are full and the send is really pending.
            REQUIRE(loop.run_until([&] { return p.ct.sending && elapsed_ms(p.ct.send_started) > 300; }, 20000));
            REQUIRE(p.ct.sent < big.size());
            int count = p.ct.send_count;
            be->cancel(p.ct.sock);
            REQUIRE(loop.run_until([&] { return !p.ct.sending; }, 5000));
            CHECK(p.ct.send_count == count + 1);
            CHECK(p.ct.send_error < 0);
        }
        p.finish(loop);
    }
}

// wait() may return 0 early (a signal, EINTR): the contract only promises it
// returns soon after a wake and does not spin. The checks allow for that.
TEST_CASE("backend: wake from another thread ends wait early", "[backend]") {
    auto name = GENERATE(from_range(backend_names()));
    SECTION(name) {
        auto be = make_backend(name, 2);
        Completion cs[8];

        // Nothing to do: waiting 300 ms in 100 ms steps takes few calls.
        auto t0 = Clock::now();
        int calls = 0;
        while (elapsed_ms(t0) < 300) {
            CHECK(be->wait(0, cs, 8, 100) == 0);
            calls++;
        }
        CHECK(calls <= 10);

        // A wake from another thread returns a wait that would block for 10 s.
        for (unsigned w = 0; w < 2; w++) {
            std::atomic<bool> woken{false};
            std::thread waker([&] {
                std::this_thread::sleep_for(std::chrono::milliseconds(150));
                woken = true;
                be->wake(w);
            });
            t0 = Clock::now();
            calls = 0;
            while (!woken && elapsed_ms(t0) < 10000) {
                CHECK(be->wait(w, cs, 8, 10000) == 0);
                calls++;
            }
            long took = elapsed_ms(t0);
            waker.join();
            INFO("worker " << w << ": " << calls << " wait calls");
            CHECK(took < 5000); // 10 s would mean the wake was lost
            CHECK(calls <= 5);
        }

        // A wake before wait is not lost: the next wait returns at once.
        be->wake(0);
        t0 = Clock::now();
        CHECK(be->wait(0, cs, 8, 10000) == 0);
        CHECK(elapsed_ms(t0) < 5000);
    }
}

// Wakes racing with the worker's own draining of them are never lost: a
// worker that handled a burst of wakes must still be woken by the next one.
// (A coalescing flag cleared before the drain instead of after it once left
// epoll workers asleep for good; the interleaving needs a preemption at the
// wrong instant, so this test can miss it, but it fails on any lost wake.)
TEST_CASE("backend: wakes racing with the worker are never lost", "[backend]") {
    auto name = GENERATE(from_range(backend_names()));
    SECTION(name) {
        auto be = make_backend(name, 1);
        std::atomic<uint64_t> asked{0}, seen{0};
        std::atomic<bool> stop{false};
        std::thread worker([&] {
            Completion cs[8];
            while (!stop) {
                be->wait(0, cs, 8, 10000);
                seen = asked.load(); // a wait returns after every wake: it covers all asked so far
            }
        });
        // Noise: wakes landing at any moment of the worker's loop.
        std::thread noise([&] {
            for (unsigned i = 0; !stop; i++) {
                be->wake(0);
                if (i % 64 == 0) std::this_thread::yield();
            }
        });
        bool lost = false;
        for (uint64_t i = 1; i <= 3000 && !lost; i++) {
            asked = i;
            be->wake(0);
            auto t0 = Clock::now();
            while (seen.load() < i) {
                if (elapsed_ms(t0) > 5000) {
                    lost = true;
                    break;
                }
                std::this_thread::yield();
            }
        }
        stop = true;
        noise.join();
        be->wake(0);
        worker.join();
        CHECK_FALSE(lost);
    }
}

#ifndef _WIN32
// Out of descriptors, accept reports the error, keeps accepting without
// spinning, and takes the waiting connection once descriptors are free.
TEST_CASE("backend: accept survives EMFILE", "[backend]") {
    auto name = GENERATE(from_range(backend_names()));
    SECTION(name) {
        auto be = make_backend(name);
        Loop loop{*be};
        Track lt, ct;
        // Lowered first: io_uring takes the limit when the accept is submitted.
        rlimit saved{};
        REQUIRE(getrlimit(RLIMIT_NOFILE, &saved) == 0);
        rlimit low = saved;
        low.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 512);
        REQUIRE(setrlimit(RLIMIT_NOFILE, &low) == 0);
        uint16_t port = start_listener(loop, lt);
        loop.pump(20);
        start_connect(loop, ct, port); // the client's descriptor, before they run out
        std::vector<int> hog;
        for (int fd; (fd = dup(0)) >= 0;) hog.push_back(fd);
        // No Catch assertion while out of descriptors: UBSan's vptr check on
        // Catch's expression objects reads /proc and fails with EMFILE.
        int dup_errno = errno;
        bool refused = loop.run_until([&] { return !ct.connecting && !lt.accept_errors.empty(); }, 5000);
        // Half a second out of descriptors: a back-off, not a busy loop.
        auto t0 = Clock::now();
        while (elapsed_ms(t0) < 500) loop.pump(50);
        size_t errors = lt.accept_errors.size();
        for (int fd : hog) close(fd);
        setrlimit(RLIMIT_NOFILE, &saved);
        REQUIRE(dup_errno == EMFILE);
        REQUIRE(refused);
        CHECK(ct.connect_res == IOCPNET_OK); // the kernel completed the handshake
        CHECK(lt.accepted.empty());
        CHECK(lt.accept_errors[0] == IOCPNET_E_LIMIT);
        INFO(errors << " accept errors in 0.5 s");
        CHECK(errors < 50);
        CHECK(lt.accepting);
        REQUIRE(loop.run_until([&] { return !lt.accepted.empty(); }, 5000));
        for (BSock *s : lt.accepted) be->release(s);
        loop.finish(ct);
        loop.finish(lt);
    }
}
#endif

TEST_CASE("backend: connect to a closed port is refused", "[backend]") {
    auto name = GENERATE(from_range(backend_names()));
    SECTION(name) {
        auto be = make_backend(name);
        Loop loop{*be};
        // A port that was just ours and is now closed.
        BSock *ls = nullptr;
        REQUIRE(be->listen(loopback(0, true), 4, &ls) == IOCPNET_OK);
        uint16_t port = 0;
        REQUIRE(net_local_port(ls->fd, &port) == IOCPNET_OK);
        be->release(ls);
        Track ct;
        start_connect(loop, ct, port);
        // Windows retries a refused loopback SYN for about two seconds.
        REQUIRE(loop.run_until([&] { return !ct.connecting; }, 10000));
        CHECK(ct.connect_res == IOCPNET_E_CONN_REFUSED);
        loop.finish(ct);
    }
}
