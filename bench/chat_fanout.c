/*
 * chat_fanout — fan-out load for samples/chat_server, alone or several on
 * one Redis. Plain non-blocking sockets in one epoll loop (not iocpnet), so
 * both set-ups face the same client.
 *
 *   chat_fanout --ports P[,P...] [--clients 900] [--senders 10] [--rate 100]
 *               [--duration 5]
 *
 * Connects --clients clients round-robin over the ports (all stay in the
 * room lobby), waits until the join announcements are over (1 s without a
 * byte), then each of the first --senders clients sends --rate lines a
 * second for --duration seconds, each line carrying its send time. Every
 * other client must get every line: deliveries are counted and each one's
 * latency (receive time - send time, one clock) kept. Prints one JSON line:
 * deliveries, deliveries/s over the sending window, p50 and p99 latency in
 * microseconds, and "ok" (every delivery arrived). Exit status 0 when ok.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct client {
    int fd;
    char buf[8192];
    size_t len;
    uint64_t got;
} client;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint32_t *lat;
static size_t nlat, caplat;
static uint64_t deliveries, last_delivery_us;

static void on_line(client *c, const char *line, size_t len)
{
    const char *t = memmem(line, len, ": T", 3);
    uint64_t sent, now;
    if (t == NULL) return; /* announcements */
    sent = strtoull(t + 3, NULL, 10);
    now = now_us();
    if (nlat == caplat) {
        caplat = caplat ? caplat * 2 : 1 << 20;
        lat = (uint32_t *)realloc(lat, caplat * sizeof *lat);
        if (lat == NULL) exit(3);
    }
    lat[nlat++] = (uint32_t)(now - sent);
    deliveries++;
    c->got++;
    last_delivery_us = now;
}

/* Reads what is there; returns bytes read, -1 on close. */
static long pump(client *c)
{
    long total = 0;
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        size_t start = 0, i;
        if (n == 0) return -1;
        if (n < 0) return errno == EAGAIN ? total : -1;
        total += n;
        c->len += (size_t)n;
        for (i = 0; i < c->len; i++)
            if (c->buf[i] == '\n') {
                on_line(c, c->buf + start, i - start);
                start = i + 1;
            }
        memmove(c->buf, c->buf + start, c->len - start);
        c->len -= start;
        if (c->len == sizeof c->buf) c->len = 0; /* a line longer than the buffer: not ours */
    }
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Reads every ready client for up to timeout_ms; returns bytes read. */
static long poll_once(int ep, client *cs, int timeout_ms)
{
    struct epoll_event evs[256];
    long total = 0;
    int n = epoll_wait(ep, evs, 256, timeout_ms), k;
    for (k = 0; k < n; k++) {
        long r = pump(&cs[evs[k].data.u32]);
        if (r < 0) {
            fprintf(stderr, "client %u was disconnected\n", evs[k].data.u32);
            exit(1);
        }
        total += r;
    }
    return total;
}

int main(int argc, char **argv)
{
    int ports[8], nports = 0, clients = 900, senders = 10, rate = 100, i, ep;
    double duration = 5;
    client *cs;
    struct rlimit rl;
    uint64_t quiet_since, sent = 0, expected, send_start, send_end, next_tick, deadline;
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--ports")) {
            char *p = argv[i + 1];
            while (*p && nports < 8) {
                ports[nports++] = (int)strtol(p, &p, 10);
                if (*p == ',') p++;
            }
        } else if (!strcmp(argv[i], "--clients")) clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--senders")) senders = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rate")) rate = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--duration")) duration = atof(argv[i + 1]);
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (nports == 0 || clients < 2 || senders < 1 || senders > clients || rate < 1 || rate > 1000) {
        fprintf(stderr, "usage: chat_fanout --ports P[,P...] [--clients N] [--senders N] [--rate 1-1000] "
                        "[--duration S]\n");
        return 2;
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    cs = (client *)calloc((size_t)clients, sizeof *cs);
    ep = epoll_create1(0);
    for (i = 0; i < clients; i++) {
        struct sockaddr_in a;
        struct epoll_event ev;
        int one = 1;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_port = htons((uint16_t)ports[i % nports]);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        cs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
        if (cs[i].fd < 0 || connect(cs[i].fd, (struct sockaddr *)&a, sizeof a) != 0) {
            perror("connect");
            return 1;
        }
        setsockopt(cs[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(cs[i].fd, F_SETFL, fcntl(cs[i].fd, F_GETFL) | O_NONBLOCK);
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t)i;
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
        if (i % 50 == 49) poll_once(ep, cs, 0); /* keep up with the announcements */
    }
    /* the join announcements (and, across servers, their way through Redis) */
    quiet_since = now_us();
    while (now_us() - quiet_since < 1000000u)
        if (poll_once(ep, cs, 100) > 0) quiet_since = now_us();
    /* send: every 1 ms, each sender's lines due by then */
    send_start = next_tick = now_us();
    send_end = send_start + (uint64_t)(duration * 1e6);
    while (now_us() < send_end) {
        uint64_t now = now_us();
        if (now >= next_tick) {
            uint64_t due = (now - send_start) * (uint64_t)rate / 1000000u + 1; /* lines per sender so far */
            while (sent < due) {
                for (i = 0; i < senders; i++) {
                    char line[64];
                    int len = snprintf(line, sizeof line, "T%llu\n", (unsigned long long)now_us());
                    if (send(cs[i].fd, line, (size_t)len, 0) != len) {
                        fprintf(stderr, "sender %d: short send\n", i);
                        return 1;
                    }
                }
                sent++;
            }
            next_tick += 1000;
        }
        poll_once(ep, cs, 1);
    }
    expected = sent * (uint64_t)senders * (uint64_t)(clients - 1);
    deadline = now_us() + 20000000u;
    while (deliveries < expected && now_us() < deadline) poll_once(ep, cs, 10);
    qsort(lat, nlat, sizeof *lat, cmp_u32);
    {
        double window = (double)(last_delivery_us - send_start) / 1e6;
        printf("{\"ok\":%s,\"clients\":%d,\"servers\":%d,\"senders\":%d,\"rate\":%d,\"lines\":%llu,"
               "\"deliveries\":%llu,\"expected\":%llu,\"deliveries_per_s\":%.0f,\"p50_us\":%u,\"p99_us\":%u}\n",
               deliveries == expected ? "true" : "false", clients, nports, senders, rate,
               (unsigned long long)(sent * (uint64_t)senders), (unsigned long long)deliveries,
               (unsigned long long)expected, window > 0 ? (double)deliveries / window : 0.0,
               nlat ? lat[nlat / 2] : 0, nlat ? lat[nlat * 99 / 100] : 0);
    }
    return deliveries == expected ? 0 : 1;
}
