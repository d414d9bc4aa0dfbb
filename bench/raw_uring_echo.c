/*
 * raw_uring_echo — the smallest correct io_uring echo server, the physical
 * reference for iocpnet's io_uring backend: one thread, one ring, one
 * multishot accept, one multishot recv per connection that picks its buffers
 * from a provided buffer ring, and each received buffer sent straight back
 * (no copy) and returned to the buffer ring when its send completes.
 *
 * A send may complete short (the peer's window is full): the rest is sent
 * again before anything received later, so each connection keeps a FIFO of
 * received buffers and has at most one send in flight. When every provided
 * buffer is in some FIFO, the kernel ends that connection's multishot recv
 * with -ENOBUFS; it is re-armed once a buffer comes back.
 * liburing 2.3 (Debian 12); options as ref_common.h describes.
 */
#include "ref_common.h"
#include <liburing.h>
#include <sys/mman.h>

#define BGID 1
#define NBUFS 1024      /* power of two: the buffer ring's size */
#define BUF_SIZE 16384  /* one 16 KiB message fits one buffer */

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND };

typedef struct { uint16_t bid; uint32_t off, len; } chunk;

typedef struct {
    int open;               /* fd accepted and not yet closed */
    int recv_armed;         /* multishot recv active (last CQE had F_MORE) */
    int starved;            /* recv ended with ENOBUFS: re-arm when a buffer returns */
    int send_inflight;
    int closing;            /* EOF or error seen: close once nothing is in flight */
    chunk *q; uint32_t head, len, cap;  /* FIFO of buffers to send, q[head] in flight */
} conn;

static struct io_uring ring;
static struct io_uring_buf_ring *br;
static uint8_t *bufs;
static conn *conns;     /* indexed by fd */
static int nconns, lfd;
static int *starved_list, nstarved;

static uint64_t ud(int fd, int op) { return ((uint64_t)(uint32_t)fd << 8) | (uint64_t)op; }

static struct io_uring_sqe *sqe_get(void) {
    struct io_uring_sqe *s = io_uring_get_sqe(&ring);
    if (!s) { io_uring_submit(&ring); s = io_uring_get_sqe(&ring); } /* SQ full: flush it */
    return s;
}

static void buf_return(uint16_t bid) {
    io_uring_buf_ring_add(br, bufs + (size_t)bid * BUF_SIZE, BUF_SIZE, bid, io_uring_buf_ring_mask(NBUFS), 0);
    io_uring_buf_ring_advance(br, 1);
}

static void arm_accept(void) {
    struct io_uring_sqe *s = sqe_get();
    io_uring_prep_multishot_accept(s, lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, ud(lfd, OP_ACCEPT));
}

static void arm_recv(int fd) {
    struct io_uring_sqe *s = sqe_get();
    io_uring_prep_recv_multishot(s, fd, NULL, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = BGID;
    io_uring_sqe_set_data64(s, ud(fd, OP_RECV));
    conns[fd].recv_armed = 1;
}

static void send_head(int fd) {
    conn *c = &conns[fd];
    chunk *h = &c->q[c->head];
    struct io_uring_sqe *s = sqe_get();
    io_uring_prep_send(s, fd, bufs + (size_t)h->bid * BUF_SIZE + h->off, h->len - h->off, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, ud(fd, OP_SEND));
    c->send_inflight = 1;
}

/* Closes when no operation of the connection can still complete. */
static void maybe_close(int fd) {
    conn *c = &conns[fd];
    if (!c->closing || c->recv_armed || c->send_inflight) return;
    for (uint32_t i = 0; i < c->len; i++) buf_return(c->q[(c->head + i) % c->cap].bid);
    c->len = c->head = 0;
    c->open = c->starved = 0;
    close(fd);
}

static void on_recv(int fd, struct io_uring_cqe *cqe) {
    conn *c = &conns[fd];
    if (!(cqe->flags & IORING_CQE_F_MORE)) c->recv_armed = 0;
    if (cqe->res > 0) {
        uint16_t bid = (uint16_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        if (c->closing) { buf_return(bid); return; }
        if (c->len == c->cap) { /* grow the FIFO, unwrapping it */
            uint32_t nc = c->cap ? c->cap * 2 : 4;
            chunk *nq = malloc(nc * sizeof *nq);
            for (uint32_t i = 0; i < c->len; i++) nq[i] = c->q[(c->head + i) % c->cap];
            free(c->q);
            c->q = nq, c->cap = nc, c->head = 0;
        }
        c->q[(c->head + c->len) % c->cap] = (chunk){bid, 0, (uint32_t)cqe->res};
        if (c->len++ == 0) send_head(fd);
        if (!c->recv_armed) arm_recv(fd); /* the kernel may end a multishot at any time */
        return;
    }
    if (cqe->res == -ENOBUFS && !c->closing) {
        if (!c->starved) { c->starved = 1; starved_list[nstarved++] = fd; }
        return;
    }
    c->closing = 1; /* 0 = EOF, other negatives = errors */
    maybe_close(fd);
}

static void on_send(int fd, int res) {
    conn *c = &conns[fd];
    c->send_inflight = 0;
    if (res < 0 || c->closing) { c->closing = 1; maybe_close(fd); return; }
    chunk *h = &c->q[c->head];
    h->off += (uint32_t)res;
    if (h->off < h->len) { send_head(fd); return; } /* short send: the rest goes first */
    buf_return(h->bid);
    c->head = (c->head + 1) % c->cap;
    if (--c->len) send_head(fd);
    while (nstarved) { /* a buffer came back: starved receivers may go on */
        int s = starved_list[--nstarved];
        conns[s].starved = 0;
        if (conns[s].open && !conns[s].closing && !conns[s].recv_armed) arm_recv(s);
    }
}

int main(int argc, char **argv) {
    const char *host; int port;
    ref_parse(argc, argv, &host, &port);
    ref_install_signals();
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    nconns = rl.rlim_cur > 1 << 20 ? 1 << 20 : (int)rl.rlim_cur;
    conns = calloc((size_t)nconns, sizeof *conns);
    starved_list = malloc((size_t)nconns * sizeof(int));

    struct io_uring_params p = {.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, .cq_entries = 16384};
    p.flags |= IORING_SETUP_CQSIZE;
    int rc = io_uring_queue_init_params(4096, &ring, &p);
    if (rc < 0) { /* an older kernel: no DEFER_TASKRUN */
        p = (struct io_uring_params){.flags = IORING_SETUP_CQSIZE, .cq_entries = 16384};
        rc = io_uring_queue_init_params(4096, &ring, &p);
    }
    if (rc < 0) { errno = -rc; ref_die("io_uring_queue_init"); }

    br = mmap(NULL, NBUFS * sizeof(struct io_uring_buf), PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
    bufs = malloc((size_t)NBUFS * BUF_SIZE);
    if (br == MAP_FAILED || !bufs) ref_die("buffers");
    struct io_uring_buf_reg reg = {.ring_addr = (uint64_t)(uintptr_t)br, .ring_entries = NBUFS, .bgid = BGID};
    if ((rc = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) { errno = -rc; ref_die("io_uring_register_buf_ring"); }
    io_uring_buf_ring_init(br);
    for (int i = 0; i < NBUFS; i++)
        io_uring_buf_ring_add(br, bufs + (size_t)i * BUF_SIZE, BUF_SIZE, (uint16_t)i, io_uring_buf_ring_mask(NBUFS), i);
    io_uring_buf_ring_advance(br, NBUFS);

    lfd = ref_listen(host, port, 0);
    arm_accept();
    while (!ref_stop) {
        rc = io_uring_submit_and_wait(&ring, 1);
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY) { errno = -rc; ref_die("io_uring_submit_and_wait"); }
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            seen++;
            uint64_t u = io_uring_cqe_get_data64(cqe);
            int fd = (int)(u >> 8), op = (int)(u & 0xff);
            if (op == OP_ACCEPT) {
                if (cqe->res >= 0 && cqe->res < nconns) {
                    conn *c = &conns[cqe->res];
                    free(c->q);
                    *c = (conn){.open = 1};
                    ref_nodelay(cqe->res);
                    arm_recv(cqe->res);
                } else if (cqe->res >= 0) close(cqe->res);
                if (!(cqe->flags & IORING_CQE_F_MORE)) arm_accept();
            } else if (op == OP_RECV) on_recv(fd, cqe);
            else if (op == OP_SEND) on_send(fd, cqe->res);
        }
        io_uring_cq_advance(&ring, seen);
    }
    io_uring_queue_exit(&ring);
    return 0;
}
