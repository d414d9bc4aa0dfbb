/*
 * raw_epoll_echo — the smallest correct epoll echo server, the physical
 * reference for iocpnet's epoll backend: one thread, one level-triggered
 * epoll set, non-blocking sockets. A readable socket is read until EAGAIN into
 * one 64 KiB buffer; each read is written straight back, and when earlier
 * bytes are still pending they go first in the same writev. What the socket
 * does not take is kept per connection, EPOLLOUT is armed, and reading stops
 * while more than 4 MiB is pending (a peer that does not read cannot make us
 * buffer without bound). Options as ref_common.h describes.
 */
#include "ref_common.h"
#include <sys/epoll.h>
#include <sys/uio.h>

#define PENDING_MAX (4u << 20)

typedef struct {
    int fd;
    uint32_t events;                 /* what epoll watches now */
    char *out; size_t off, len, cap; /* pending bytes: out[off, len) */
} conn;

static int ep;
static char buf[65536];

static void watch(conn *c, uint32_t ev) {
    if (c->events == ev) return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
    c->events = ev;
}

static void drop(conn *c) {
    close(c->fd); /* also removes it from the epoll set */
    free(c->out);
    free(c);
}

/* Keeps data[n - rest, n) after what is pending. */
static void keep(conn *c, const char *data, size_t rest) {
    if (c->off && c->off == c->len) c->off = c->len = 0;
    if (c->len + rest > c->cap) {
        if (c->off) { memmove(c->out, c->out + c->off, c->len - c->off); c->len -= c->off; c->off = 0; }
        if (c->len + rest > c->cap) { c->cap = (c->len + rest) * 2; c->out = realloc(c->out, c->cap); }
    }
    memcpy(c->out + c->len, data, rest);
    c->len += rest;
}

/* Writes pending bytes then data[0, n) with one writev; keeps the rest.
 * Returns -1 when the connection failed. */
static int send_out(conn *c, const char *data, size_t n) {
    struct iovec iov[2];
    int k = 0;
    size_t pend = c->len - c->off;
    if (pend) iov[k++] = (struct iovec){c->out + c->off, pend};
    if (n) iov[k++] = (struct iovec){(void *)data, n};
    if (!k) return 0;
    ssize_t w = writev(c->fd, iov, k);
    if (w < 0) {
        if (errno != EAGAIN) return -1;
        w = 0;
    }
    size_t done = (size_t)w;
    if (done < pend) { c->off += done; keep(c, data, n); }
    else {
        c->off = c->len = 0;
        keep(c, data + (done - pend), n - (done - pend));
    }
    return 0;
}

static void on_readable(conn *c) {
    for (;;) {
        ssize_t r = read(c->fd, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) { drop(c); return; }
        if (r < 0) break;
        if (send_out(c, buf, (size_t)r) < 0) { drop(c); return; }
        if (c->len - c->off >= PENDING_MAX) break;
        if ((size_t)r < sizeof buf) break; /* a short read: the socket is (almost surely) drained */
    }
    size_t pend = c->len - c->off;
    watch(c, (pend < PENDING_MAX ? EPOLLIN : 0) | (pend ? EPOLLOUT : 0));
}

/* Returns 0 when the connection was dropped. */
static int on_writable(conn *c) {
    if (send_out(c, NULL, 0) < 0) { drop(c); return 0; }
    size_t pend = c->len - c->off;
    watch(c, (pend < PENDING_MAX ? EPOLLIN : 0) | (pend ? EPOLLOUT : 0));
    return 1;
}

int main(int argc, char **argv) {
    const char *host; int port;
    ref_parse(argc, argv, &host, &port);
    ref_install_signals();
    ep = epoll_create1(EPOLL_CLOEXEC); /* before the "listening" line: run.py then sees it */
    int lfd = ref_listen(host, port, SOCK_NONBLOCK);
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &le);
    struct epoll_event evs[256];
    while (!ref_stop) {
        int k = epoll_wait(ep, evs, 256, -1);
        if (k < 0 && errno != EINTR) ref_die("epoll_wait");
        for (int i = 0; i < k; i++) {
            conn *c = evs[i].data.ptr;
            if (!c) { /* the listener: accept all that are waiting */
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    ref_nodelay(fd);
                    c = calloc(1, sizeof *c);
                    c->fd = fd;
                    c->events = EPOLLIN;
                    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            /* Each fd is in one event of the batch, so a dropped c is not seen again. */
            if ((evs[i].events & EPOLLOUT) && !on_writable(c)) continue;
            if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) on_readable(c);
        }
    }
    return 0;
}
