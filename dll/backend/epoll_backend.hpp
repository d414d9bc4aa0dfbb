// The epoll backend: the Linux fallback where io_uring is refused. It turns
// readiness into completions: it waits for readiness, performs the
// recv/send/accept/connect itself and reports the result as a Completion.
//
// One epoll set + one eventfd per worker. A socket is touched only by its
// owner worker's thread, except release(),
// which the contract allows from any thread once nothing is pending on it;
// the backend keeps a socket registered in epoll only while an operation is
// pending, so a released socket can never show up in an epoll_wait result.
// The set is level-triggered: readiness that is not consumed in one wait()
// (no room in `out`, no free recv buffer) is simply reported again.
#pragma once
#include "backend.hpp"
#include "recv_pool.hpp"

#include <atomic>
#include <cstdint>
#include <climits>
#include <sys/uio.h>
#include <vector>

namespace iocpnet {

// A send's iovecs while it waits for writability: the core's iov[] is valid
// only during send(). Taken from the worker's free list for that wait, so an
// idle socket holds none.
struct EpollSendMem {
    static constexpr unsigned kIov = 64; // more is a partial send; the core sends the rest
    EpollSendMem *next = nullptr;        // in EpollWorker::free_send
    unsigned n = 0;
    iovec iov[kIov];
};

struct EpollSock : BSock {
    uint32_t interest = 0;     // events currently registered (0 = not in the set)
    bool recv_armed = false;
    bool accept_armed = false;
    bool accept_paused = false; // out of descriptors: not polled until resume_at_ms
    bool connecting = false;    // non-blocking connect in progress
    EpollSendMem *send_wait = nullptr; // a send waiting for writability
    int64_t resume_at_ms = 0;   // mono_ms()
};

struct EpollWorker {
    int epfd = -1;
    int efd = -1;                          // eventfd for wake()
    std::atomic<bool> wake_pending{false}; // coalesces wakes: one eventfd write per wait round
    // Completions made outside wait() (immediate send results, cancels);
    // wait() returns them before anything new.
    std::vector<Completion> ready;
    size_t ready_head = 0;
    std::vector<EpollSock *> paused; // listeners resting after EMFILE/ENFILE
    RecvPool pool;
    EpollSendMem *free_send = nullptr;
    iovec iov[IOV_MAX]; // scratch of a first send attempt
    ~EpollWorker();
};

class EpollBackend final : public Backend {
  public:
    explicit EpollBackend(unsigned workers);
    ~EpollBackend() override;
    int init(); // creates the epoll sets and eventfds; IOCPNET_OK or an error

    uint32_t kind() const override;

    int listen(const Addr &a, int backlog, BSock **out) override;
    int open_stream(const Addr &a, BSock **out) override;
    void wake(unsigned w) override;
    void release(BSock *s) override;

    void accept(BSock *listener) override;
    void connect(BSock *s, const Addr &peer) override;
    void recv(BSock *s) override;
    void recv_done(const Completion &c) override;
    void recv_stop(BSock *s) override;
    void send(BSock *s, const IoVec *iov, unsigned n) override;
    void cancel(BSock *s) override;
    long send_now(BSock *s, const IoVec *iov, unsigned n) override;
    bool sends_now() const override { return true; }

    int wait(unsigned w, Completion *out, unsigned max, int timeout_ms) override;

  private:
    // A bounded output array for one wait(): events are consumed only while
    // there is room, so nothing made from readiness ever overflows.
    struct Out {
        Completion *c;
        unsigned n, max;
        bool room() const { return n < max; }
        void put(const Completion &x) { c[n++] = x; }
    };

    EpollWorker &owner(const EpollSock *s) { return *workers_[s->worker]; }
    static Completion make(Op op, bool done, int res, EpollSock *s);
    void queue(EpollSock *s, const Completion &c); // onto the owner's ready list
    // Brings the registered interest in line with the pending operations;
    // on failure every pending operation completes with the error.
    void update_interest(EpollSock *s);
    void fail_pending(EpollSock *s, int res);
    void put_send_mem(EpollWorker &w, EpollSendMem *m);

    // Readiness handlers (epoll_ops.cpp); each adds at most what fits in o.
    void on_event(EpollWorker &w, EpollSock *s, uint32_t ev, Out &o);
    // One sendmsg; false on EAGAIN. Partial writes are completions too.
    bool try_send(EpollSock *s, const iovec *iov, unsigned n, Completion *c);
    void do_recv(EpollWorker &w, EpollSock *s, Out &o);
    void do_accept(EpollWorker &w, EpollSock *s, Out &o);
    void finish_connect(EpollSock *s, uint32_t ev, Out &o);
    void resume_paused(EpollWorker &w, int *timeout_ms);

    unsigned nworkers_;
    std::vector<std::unique_ptr<EpollWorker>> workers_;
};

} // namespace iocpnet
