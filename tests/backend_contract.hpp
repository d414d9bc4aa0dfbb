// The harness of the backend contract test (backend_contract.cpp, its only
// user): what the test knows about each socket (Track), the loop that plays
// every worker (Loop), and helpers that set up listeners and connections.
#pragma once
#include <catch2/catch.hpp>

#include "backend/backend.hpp"
#include "errors.hpp"
#include "iocpnet/iocpnet.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

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

bool same(const NetAddr &a, const NetAddr &b) {
    return a.family == b.family && a.port == b.port && std::memcmp(a.ip, b.ip, sizeof a.ip) == 0;
}

} // namespace
