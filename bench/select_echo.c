/*
 * select_echo — the classic select() loop: one thread, non-blocking sockets,
 * and every round the kernel is handed, and hands back, a bitmap of every
 * descriptor, which both sides then scan: O(connections) work per wake-up,
 * however few sockets are ready. That scan is what epoll, kqueue and
 * completion ports removed.
 *
 * The limit: fd_set is a fixed bitmap of FD_SETSIZE (1,024 on Linux) bits, so
 * no descriptor numbered 1,024 or higher can be watched. 1,000 connections fit
 * (descriptors 4..1,003 beside stdin/out/err and the listener); a connection
 * whose descriptor would not fit is closed at once, with a message, rather
 * than overflowing the bitmap. Options as ref_common.h describes.
 */
#include "ref_common.h"
#include <sys/select.h>

#define PENDING_MAX (4u << 20)

typedef struct { char *out; size_t off, len, cap; int open; } conn;

static conn conns[FD_SETSIZE];
static char buf[65536];

static void drop(int fd) {
    close(fd);
    free(conns[fd].out);
    conns[fd] = (conn){0};
}

/* Writes what is pending; returns -1 when the connection failed. */
static int flush(int fd) {
    conn *c = &conns[fd];
    while (c->off < c->len) {
        ssize_t w = write(fd, c->out + c->off, c->len - c->off);
        if (w < 0) return errno == EAGAIN ? 0 : -1;
        c->off += (size_t)w;
    }
    c->off = c->len = 0;
    return 0;
}

static void on_readable(int fd) {
    conn *c = &conns[fd];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r == 0 || (r < 0 && errno != EAGAIN)) { drop(fd); return; }
    if (r < 0) return;
    size_t done = 0;
    if (c->off == c->len) { /* nothing pending: straight back */
        ssize_t w = write(fd, buf, (size_t)r);
        if (w < 0 && errno != EAGAIN) { drop(fd); return; }
        done = w > 0 ? (size_t)w : 0;
        c->off = c->len = 0;
    }
    size_t rest = (size_t)r - done;
    if (!rest) return;
    if (c->len + rest > c->cap) { c->cap = (c->len + rest) * 2; c->out = realloc(c->out, c->cap); }
    memcpy(c->out + c->len, buf + done, rest);
    c->len += rest;
}

int main(int argc, char **argv) {
    const char *host; int port;
    ref_parse(argc, argv, &host, &port);
    ref_install_signals();
    int lfd = ref_listen(host, port, SOCK_NONBLOCK);
    if (lfd >= FD_SETSIZE) { fprintf(stderr, "listener fd %d >= FD_SETSIZE\n", lfd); return 1; }
    int maxfd = lfd, warned = 0;
    while (!ref_stop) {
        fd_set rd, wr;
        FD_ZERO(&rd);
        FD_ZERO(&wr);
        FD_SET(lfd, &rd);
        int top = lfd;
        for (int fd = 0; fd <= maxfd; fd++) {
            if (!conns[fd].open) continue;
            size_t pend = conns[fd].len - conns[fd].off;
            if (pend < PENDING_MAX) FD_SET(fd, &rd); /* a peer that does not read stops being read */
            if (pend) FD_SET(fd, &wr);
            top = fd;
        }
        maxfd = top;
        int k = select(maxfd + 1, &rd, &wr, NULL, NULL);
        if (k < 0) {
            if (errno == EINTR) continue;
            ref_die("select");
        }
        for (int fd = 0; fd <= maxfd; fd++) { /* the scan every select() costs */
            if (fd == lfd || !conns[fd].open) continue;
            if (FD_ISSET(fd, &wr) && flush(fd) < 0) { drop(fd); continue; }
            if (FD_ISSET(fd, &rd)) on_readable(fd);
        }
        if (FD_ISSET(lfd, &rd)) {
            int fd;
            while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                if (fd >= FD_SETSIZE) { /* the bitmap's end: refuse rather than overflow it */
                    if (!warned++) fprintf(stderr, "select_echo: descriptor %d >= FD_SETSIZE (%d): connection refused\n", fd, FD_SETSIZE);
                    close(fd);
                    continue;
                }
                ref_nodelay(fd);
                conns[fd] = (conn){.open = 1};
                if (fd > maxfd) maxfd = fd;
            }
        }
    }
    return 0;
}
