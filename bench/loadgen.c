/*
 * loadgen — load generator for the iocpnet benchmarks. Deliberately does not
 * use iocpnet: plain non-blocking sockets, one epoll set, one thread, so that
 * every server under test faces exactly the same client.
 *
 *   loadgen echo   --port P [--conns 100] [--size 64] [--duration 2] [--warmup 0.5] [--pid PID]...
 *   loadgen fanout --port P [--conns 1000] [--senders 10] [--size 256] [--rounds 200]
 *                  [--interval-us 1000] [--pid PID]...
 *   either mode: [--tls] [--ws]
 *
 * --tls: every connection does a TLS handshake first (OpenSSL client, no
 * certificate verification: the servers are ours, on loopback) and then
 * speaks through it. --ws: every connection does the WebSocket client
 * handshake (RFC 6455: a random Sec-WebSocket-Key per connection, the
 * server's Sec-WebSocket-Accept checked), then each message goes as one
 * masked binary frame and each echo must come back as one unmasked binary
 * frame with the same payload (fanout: receivers parse the frames and
 * count and sum their payloads). Both together: WebSocket over TLS.
 *
 * --pid names the server's process(es): their utime+stime is read from
 * /proc/PID/stat exactly at the edges of the measured interval, so CPU per
 * message covers the same interval as the message count.
 * Prints one JSON line on stdout; exit status 0 only when the run verified.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#define MAX_PIDS 16

static struct {
    const char *mode, *host;
    int port, conns, size, senders, rounds, interval_us;
    double duration, warmup;
    int pids[MAX_PIDS], npids;
    int tls, ws;
} opt = {"echo", "127.0.0.1", 0, -1, -1, 10, 200, 1000, 2.0, 0.5, {0}, 0, 0, 0};

static char errmsg[256]; /* first failure, reported in the JSON line */

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...) {
    if (errmsg[0]) return; /* keep the first cause: later ones are usually consequences */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    for (char *p = errmsg; *p; p++) /* it goes into a JSON string */
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = '\'';
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Sum of utime+stime of the server process(es), in microseconds, and of
 * stime alone in *sys_us (the share spent in the kernel). This is the figure
 * the tables use; its unit is a clock tick (10 ms), so it wants runs of a
 * second or more. */
static double server_cpu_us(double *sys_us) {
    double total = 0;
    *sys_us = 0;
    long hz = sysconf(_SC_CLK_TCK);
    for (int i = 0; i < opt.npids; i++) {
        char path[64], buf[1024];
        snprintf(path, sizeof path, "/proc/%d/stat", opt.pids[i]);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        /* comm may contain spaces or ')': fields are counted after the last ')'. */
        char *p = strrchr(buf, ')');
        unsigned long long ut = 0, st = 0;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
            total += (double)(ut + st) * 1e6 / (double)hz, *sys_us += (double)st * 1e6 / (double)hz;
    }
    return total;
}

/* The same in nanoseconds from each live thread's schedstat: a cross-check for
 * short runs, reported next to the tick-based figure (0 when unavailable). */
static double server_cpu_us_sched(void) {
    double total = 0;
    for (int i = 0; i < opt.npids; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%d/task", opt.pids[i]);
        DIR *d = opendir(path);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char tp[400];
            snprintf(tp, sizeof tp, "%s/%s/schedstat", path, e->d_name);
            FILE *f = fopen(tp, "r");
            unsigned long long ns = 0;
            if (f) { if (fscanf(f, "%llu", &ns) == 1) total += (double)ns / 1e3; fclose(f); }
        }
        closedir(d);
    }
    return total;
}

/* The load generator's own CPU: near 100 % of the window means the numbers
 * measure the client, not the server. */
static double self_cpu_us(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* ------------------------------------------------------------ connections */

typedef struct conn {
    int fd;
    SSL *ssl;             /* --tls: the session; NULL = plain */
    int out_armed;        /* EPOLLOUT registered: a write is pending */
    uint32_t seq;         /* echo: stamp of the message in flight */
    size_t sent, recvd;   /* echo: progress of the message in flight (wire bytes) */
    uint64_t t_send;      /* echo: when the message in flight was first written */
    int idle;             /* echo: measurement over, no new message */
    uint8_t *pl;          /* echo: the message's payload */
    uint8_t *tx, *rx;     /* echo: the message and its echo as on the wire (raw: tx == pl) */
    size_t txlen, rxlen;  /* echo: their wire sizes */
    uint8_t wh[14];       /* --ws fanout: the frame header being read */
    unsigned wh_have;
    uint64_t wleft;       /* --ws fanout: payload bytes left in the current frame */
    uint64_t rx_bytes, rx_sum;        /* fanout: everything received */
    uint64_t tx_bytes, tx_sum;        /* fanout: everything this sender wrote */
    uint8_t *out; size_t out_len, out_off, out_cap; /* fanout: unsent bytes */
} conn;

static int ep;
static conn *cs;
static uint8_t scratch[65536];

static void set_out(conn *c, int on) {
    if (c->out_armed == on) return;
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->out_armed = on;
}

/* Reads and writes through TLS when the connection has a session. Both
 * return > 0 bytes, 0 at EOF, or -1 with errno (EAGAIN: try again when
 * epoll says so). */
static ssize_t c_read(conn *c, void *buf, size_t n) {
    if (!c->ssl) return read(c->fd, buf, n);
    int r = SSL_read(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0) return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) { errno = EAGAIN; return -1; }
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0)) return 0;
    if (e != SSL_ERROR_SYSCALL) errno = EPROTO;
    return -1;
}

static ssize_t c_write(conn *c, const void *buf, size_t n) {
    if (!c->ssl) return write(c->fd, buf, n);
    int r = SSL_write(c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0) return r;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) { errno = EAGAIN; return -1; }
    if (e != SSL_ERROR_SYSCALL || errno == 0) errno = EPROTO;
    return -1;
}

/* Bytes a TLS session decrypted but we have not read yet: epoll cannot see them. */
static int c_pending(conn *c) { return c->ssl ? SSL_pending(c->ssl) : 0; }

/* Opens all connections, at most 128 handshakes at a time so that a server
 * with a small accept backlog does not see dropped SYNs (1 s retransmits). */
static int connect_all(int n) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)opt.port)};
    if (inet_pton(AF_INET, opt.host, &sa.sin_addr) != 1) { fail("bad host %s", opt.host); return -1; }
    int next = 0, pending = 0, done = 0;
    uint64_t deadline = now_ns() + 30ull * 1000000000u;
    struct epoll_event evs[256];
    while (done < n) {
        while (next < n && pending < 128) {
            conn *c = &cs[next++];
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (c->fd < 0) { fail("socket: %s", strerror(errno)); return -1; }
            int one = 1;
            setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
                fail("connect: %s", strerror(errno)); return -1;
            }
            struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
            pending++;
        }
        int k = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < k; i++) {
            conn *c = evs[i].data.ptr;
            int err = 0; socklen_t len = sizeof err;
            getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err) { fail("connect: %s", strerror(err)); return -1; }
            struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
            epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            pending--; done++;
        }
        if (now_ns() > deadline) { fail("connect: %d of %d after 30 s", done, n); return -1; }
    }
    return 0;
}

/* --tls: one step of a connection's TLS handshake. 1 done, 0 more to do
 * (epoll will say when), -1 failed. */
static int tls_step(conn *c) {
    int r = SSL_do_handshake(c->ssl);
    if (r == 1) { set_out(c, 0); return 1; }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) { set_out(c, 0); return 0; }
    if (e == SSL_ERROR_WANT_WRITE) { set_out(c, 1); return 0; }
    char buf[160];
    ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
    fail("TLS handshake of conn %ld failed: %s", (long)(c - cs), buf);
    return -1;
}

/* --tls: a TLS handshake on every connection, all at once, driven by epoll. */
static int tls_connect_all(int n) {
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) { fail("SSL_CTX_new failed"); return -1; }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL); /* our own servers on loopback: speed, not trust, is measured */
    /* A short write keeps its place; a retry may pass a moved buffer (the fanout's grows). */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    int left = n;
    for (int i = 0; i < n; i++) { /* the client speaks first */
        conn *c = &cs[i];
        if (!(c->ssl = SSL_new(ctx)) || SSL_set_fd(c->ssl, c->fd) != 1) { fail("SSL_new failed"); return -1; }
        SSL_set_connect_state(c->ssl);
        int r = tls_step(c);
        if (r < 0) return -1;
        left -= r;
    }
    SSL_CTX_free(ctx); /* the sessions keep their own reference */
    uint64_t deadline = now_ns() + 30ull * 1000000000u;
    struct epoll_event evs[256];
    while (left > 0) {
        int k = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < k; i++) {
            conn *c = evs[i].data.ptr;
            if (SSL_is_init_finished(c->ssl)) continue;
            int r = tls_step(c);
            if (r < 0) return -1;
            left -= r;
        }
        if (left && now_ns() > deadline) { fail("TLS: %d of %d handshakes unfinished after 30 s", left, n); return -1; }
    }
    return 0;
}

/* Base64 of n bytes into out (NUL-terminated). */
static void b64(const uint8_t *p, int n, char *out) { EVP_EncodeBlock((unsigned char *)out, p, n); }

/* Writes c->tx[sent..txlen); EPOLLOUT finishes a partial write. 0, or -1 on error. */
static int flush_tx(conn *c) {
    while (c->sent < c->txlen) {
        ssize_t w = c_write(c, c->tx + c->sent, c->txlen - c->sent);
        if (w < 0) {
            if (errno == EAGAIN) { set_out(c, 1); return 0; }
            fail("write: %s", strerror(errno)); return -1;
        }
        c->sent += (size_t)w;
    }
    set_out(c, 0);
    return 0;
}

/* --ws: the client handshake on every connection. Each gets its own random
 * key; the reply must be a 101 whose Sec-WebSocket-Accept is base64(SHA-1(key
 * + the RFC's GUID)). Nothing may follow the reply's head: no server here
 * speaks before it is spoken to. */
static int ws_upgrade_all(int n) {
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    char (*want_acc)[32] = calloc((size_t)n, sizeof *want_acc);
    int left = n;
    for (int i = 0; i < n; i++) {
        conn *c = &cs[i];
        uint8_t k[16], dig[SHA_DIGEST_LENGTH];
        char key[32], cat[80];
        if (RAND_bytes(k, sizeof k) != 1) { fail("RAND_bytes failed"); return -1; }
        b64(k, sizeof k, key);
        snprintf(cat, sizeof cat, "%s%s", key, guid);
        SHA1((const unsigned char *)cat, strlen(cat), dig);
        b64(dig, sizeof dig, want_acc[i]);
        c->tx = malloc(512); c->rx = malloc(1024);
        c->txlen = (size_t)snprintf((char *)c->tx, 512,
            "GET /bench HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", opt.host, opt.port, key);
        c->sent = c->recvd = 0;
        if (flush_tx(c) < 0) return -1;
    }
    uint64_t deadline = now_ns() + 30ull * 1000000000u;
    struct epoll_event evs[256];
    while (left > 0) {
        int k = epoll_wait(ep, evs, 256, 100);
        for (int i = 0; i < k; i++) {
            conn *c = evs[i].data.ptr;
            long idx = (long)(c - cs);
            if ((evs[i].events & EPOLLOUT) && flush_tx(c) < 0) return -1;
            if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->idle) continue;
            do {
                ssize_t r = c_read(c, c->rx + c->recvd, 1023 - c->recvd);
                if (r < 0 && errno == EAGAIN) break;
                if (r <= 0) { fail("conn %ld: %s during the WebSocket handshake", idx, r == 0 ? "EOF" : strerror(errno)); return -1; }
                c->recvd += (size_t)r;
            } while (c_pending(c) && c->recvd < 1023);
            c->rx[c->recvd] = 0;
            char *end = strstr((char *)c->rx, "\r\n\r\n");
            if (!end) {
                if (c->recvd >= 1023) { fail("conn %ld: WebSocket reply head over 1 KiB", idx); return -1; }
                continue;
            }
            if ((size_t)(end + 4 - (char *)c->rx) != c->recvd) { fail("conn %ld: bytes after the 101 head", idx); return -1; }
            static const char acc_name[] = "\r\nSec-WebSocket-Accept:";
            char *h = strcasestr((char *)c->rx, acc_name);
            if (strncmp((char *)c->rx, "HTTP/1.1 101 ", 13) != 0 || !h) {
                fail("conn %ld: not a WebSocket upgrade: %.40s", idx, (char *)c->rx); return -1;
            }
            h += sizeof acc_name - 1;
            while (*h == ' ' || *h == '\t') h++;
            size_t al = strlen(want_acc[idx]);
            if (strncmp(h, want_acc[idx], al) != 0 || (h[al] != '\r' && h[al] != ' ')) {
                fail("conn %ld: wrong Sec-WebSocket-Accept (%.30s, want %s)", idx, h, want_acc[idx]); return -1;
            }
            c->idle = 1; /* done (reset below) */
            left--;
        }
        if (left && now_ns() > deadline) { fail("WebSocket: %d of %d upgrades unfinished after 30 s", left, n); return -1; }
    }
    for (int i = 0; i < n; i++) {
        free(cs[i].tx); free(cs[i].rx);
        cs[i].tx = cs[i].rx = NULL;
        cs[i].idle = 0;
        cs[i].sent = cs[i].recvd = cs[i].txlen = 0;
    }
    free(want_acc);
    return 0;
}

/* Masking keys (RFC 6455 5.3 wants them unpredictable to scripts in a
 * browser; a load generator only needs them to vary): xorshift64*, seeded
 * from the system's entropy. */
static uint64_t mask_state;
static uint32_t mask_key(void) {
    mask_state ^= mask_state >> 12; mask_state ^= mask_state << 25; mask_state ^= mask_state >> 27;
    return (uint32_t)((mask_state * 0x2545F4914F6CDD1Dull) >> 32);
}

/* A frame header for a binary message of len bytes: masked (a client's, the
 * key is appended) or not (what a server must send back). Returns its length. */
static size_t ws_head(uint8_t *h, uint64_t len, int masked) {
    size_t i = 0;
    uint8_t m = masked ? 0x80 : 0;
    h[i++] = 0x82; /* FIN, binary */
    if (len < 126) h[i++] = (uint8_t)(m | len);
    else if (len < 65536) { h[i++] = (uint8_t)(m | 126); h[i++] = (uint8_t)(len >> 8); h[i++] = (uint8_t)len; }
    else { h[i++] = (uint8_t)(m | 127); for (int s = 56; s >= 0; s -= 8) h[i++] = (uint8_t)(len >> s); }
    if (masked) { uint32_t k = mask_key(); memcpy(h + i, &k, 4); i += 4; }
    return i;
}

/* dst = src masked with the key at the end of the header h of hlen bytes. */
static void ws_mask(uint8_t *dst, const uint8_t *src, size_t n, const uint8_t *h, size_t hlen) {
    const uint8_t *k = h + hlen - 4;
    for (size_t i = 0; i < n; i++) dst[i] = src[i] ^ k[i & 3];
}

/* Connects, then TLS and the WebSocket upgrade as asked. */
static int open_all(int n) {
    if (connect_all(n) < 0) return -1;
    if (opt.tls && tls_connect_all(n) < 0) return -1;
    if (opt.ws && ws_upgrade_all(n) < 0) return -1;
    return 0;
}

/* ------------------------------------------------------------------- echo */

static uint32_t *lat; static size_t nlat, caplat;

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The next message: stamped with the connection and sequence number; with
 * --ws framed and masked afresh (a new key per frame). */
static void echo_start(conn *c, uint32_t idx) {
    c->seq++;
    memcpy(c->pl, &idx, 4);        /* the stamp: connection and sequence number */
    memcpy(c->pl + 4, &c->seq, 4);
    if (opt.ws) {
        size_t h = ws_head(c->tx, (uint64_t)opt.size, 1);
        ws_mask(c->tx + h, c->pl, (size_t)opt.size, c->tx, h);
    }
    c->sent = c->recvd = 0;
    c->t_send = now_ns();
    flush_tx(c);
}

static int run_echo(void) {
    int n = opt.conns < 0 ? 100 : opt.conns, size = opt.size < 0 ? 64 : opt.size;
    opt.size = size;
    if (size < 8) { fail("--size must be >= 8 (stamp)"); return -1; }
    if (open_all(n) < 0) return -1;
    /* --ws: what must come back is an unmasked binary frame with the payload. */
    uint8_t want_head[14];
    size_t want_hlen = opt.ws ? ws_head(want_head, (uint64_t)size, 0) : 0;
    for (int i = 0; i < n; i++) {
        conn *c = &cs[i];
        c->pl = malloc((size_t)size);
        c->txlen = (size_t)size + (opt.ws ? want_hlen + 4 : 0);
        c->rxlen = (size_t)size + want_hlen;
        c->tx = opt.ws ? malloc(c->txlen) : c->pl;
        c->rx = malloc(c->rxlen);
        /* A per-connection filler pattern: a mixed-up echo would not verify. */
        for (int j = 8; j < size; j++) c->pl[j] = (uint8_t)(j * 31 + i * 7 + 1);
    }
    uint64_t t0 = now_ns();
    uint64_t warm_end = t0 + (uint64_t)(opt.warmup * 1e9), meas_end = warm_end + (uint64_t)(opt.duration * 1e9);
    uint64_t ws = 0, we = 0, count = 0, bytes_checked = 0;
    double cpu0 = 0, cpu1 = 0, sys0 = 0, sys1 = 0, sch0 = 0, sch1 = 0, me0 = 0, me1 = 0;
    int measuring = 0, finished = 0, busy = n;
    for (int i = 0; i < n; i++) echo_start(&cs[i], (uint32_t)i);
    struct epoll_event evs[256];
    uint64_t drain_deadline = 0;
    while (!errmsg[0] && busy > 0) {
        int k = epoll_wait(ep, evs, 256, 10);
        for (int i = 0; i < k && !errmsg[0]; i++) {
            conn *c = evs[i].data.ptr;
            uint32_t idx = (uint32_t)(c - cs);
            if (evs[i].events & EPOLLOUT) flush_tx(c);
            if (!(evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
            if (c->idle) { /* nothing more is owed to us: anything here is an error */
                ssize_t x = c_read(c, scratch, sizeof scratch);
                if (x >= 0 || errno != EAGAIN) { fail("conn %u: %s after its last echo", idx, x > 0 ? "extra bytes" : "EOF/error"); break; }
                continue;
            }
            ssize_t r;
            do { /* TLS may hold decrypted bytes that epoll does not announce */
                r = c_read(c, c->rx + c->recvd, c->rxlen - c->recvd);
                if (r > 0) c->recvd += (size_t)r;
            } while (r > 0 && c->recvd < c->rxlen && c_pending(c));
            if (r == 0 || (r < 0 && errno != EAGAIN)) {
                fail("conn %u: %s after %zu of %zu bytes", idx, r == 0 ? "EOF" : strerror(errno), c->recvd, c->rxlen);
                break;
            }
            if (c->recvd < c->rxlen) continue;
            if (want_hlen && memcmp(c->rx, want_head, want_hlen) != 0) {
                fail("conn %u: not the expected frame header (%02x %02x)", idx, c->rx[0], c->rx[1]);
                break;
            }
            if (memcmp(c->rx + want_hlen, c->pl, (size_t)size) != 0) {
                uint32_t gi, gs; memcpy(&gi, c->rx + want_hlen, 4); memcpy(&gs, c->rx + want_hlen + 4, 4);
                fail("conn %u: echo mismatch (stamp %u/%u, expected %u/%u)", idx, gi, gs, idx, c->seq);
                break;
            }
            bytes_checked += (size_t)size;
            uint64_t t = now_ns();
            if (measuring && !finished) {
                count++;
                if (nlat == caplat) { caplat = caplat ? caplat * 2 : 1 << 16; lat = realloc(lat, caplat * 4); }
                uint64_t d = t - c->t_send;
                lat[nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
            }
            if (t < meas_end) echo_start(c, idx);
            else { c->idle = 1; busy--; }
        }
        uint64_t t = now_ns();
        /* The window edges are taken here, between batches, so the CPU reading and
         * the message count describe the same interval. */
        if (!measuring && t >= warm_end) { measuring = 1; cpu0 = server_cpu_us(&sys0); sch0 = server_cpu_us_sched(); me0 = self_cpu_us(); ws = now_ns(); }
        if (measuring && !finished && t >= meas_end) {
            finished = 1; we = now_ns(); cpu1 = server_cpu_us(&sys1); sch1 = server_cpu_us_sched(); me1 = self_cpu_us();
            drain_deadline = t + 5ull * 1000000000u;
        }
        if (finished && busy > 0 && t > drain_deadline) fail("%d echoes missing 5 s after the end", busy);
    }
    double secs = (double)(we - ws) / 1e9;
    double p50 = 0, p99 = 0;
    if (nlat) {
        qsort(lat, nlat, 4, cmp_u32);
        p50 = lat[nlat / 2] / 1e3;
        p99 = lat[(size_t)((double)nlat * 0.99) < nlat ? (size_t)((double)nlat * 0.99) : nlat - 1] / 1e3;
    }
    if (!errmsg[0] && count == 0) fail("no echo completed in the measured window");
    printf("{\"mode\":\"echo\",\"tls\":%d,\"ws\":%d,\"ok\":%s,\"conns\":%d,\"size\":%d,\"seconds\":%.3f,\"msgs\":%llu,"
           "\"msgs_per_s\":%.1f,\"p50_us\":%.1f,\"p99_us\":%.1f,\"server_cpu_us\":%.0f,\"server_sys_us\":%.0f,\"server_cpu_us_sched\":%.0f,"
           "\"loadgen_cpu_pct\":%.0f,\"bytes_verified\":%llu,\"error\":\"%s\"}\n",
           opt.tls, opt.ws, errmsg[0] ? "false" : "true", n, size, secs, (unsigned long long)count,
           secs > 0 ? (double)count / secs : 0.0, p50, p99, cpu1 - cpu0, sys1 - sys0, sch1 - sch0, secs > 0 ? (me1 - me0) / 1e4 / secs : 0.0,
           (unsigned long long)bytes_checked, errmsg);
    return errmsg[0] ? -1 : 0;
}

/* ----------------------------------------------------------------- fanout */

static void fan_flush(conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t w = c_write(c, c->out + c->out_off, c->out_len - c->out_off);
        if (w < 0) {
            if (errno == EAGAIN) { set_out(c, 1); return; }
            fail("sender write: %s", strerror(errno)); return;
        }
        c->out_off += (size_t)w;
    }
    c->out_off = c->out_len = 0;
    set_out(c, 0);
}

static void fan_append(conn *c, const uint8_t *p, size_t len) {
    if (c->out_len + len > c->out_cap) {
        c->out_cap = (c->out_len + len) * 2;
        c->out = realloc(c->out, c->out_cap);
    }
    memcpy(c->out + c->out_len, p, len);
    c->out_len += len;
}

/* One message from this sender: raw bytes, or (--ws) one masked binary
 * frame. tx_bytes and tx_sum count the payload. */
static void fan_queue(conn *c, const uint8_t *p, size_t len) {
    if (opt.ws) {
        uint8_t h[14], m[65536];
        size_t hl = ws_head(h, len, 1);
        fan_append(c, h, hl);
        for (size_t at = 0; at < len; at += sizeof m) { /* the key's phase: at is a multiple of 4 */
            size_t k = len - at < sizeof m ? len - at : sizeof m;
            ws_mask(m, p + at, k, h, hl);
            fan_append(c, m, k);
        }
    } else {
        fan_append(c, p, len);
    }
    c->tx_bytes += len;
    for (size_t i = 0; i < len; i++) c->tx_sum += p[i];
    fan_flush(c);
}

/* --ws: the payload bytes of the server's frames in what arrived. Every
 * frame must be a whole unmasked binary message (the relays send each
 * message as one frame); the header may be split across reads. */
static int fan_frames(conn *c, const uint8_t *p, size_t n, uint64_t *bytes, uint64_t *sum) {
    while (n) {
        if (c->wleft == 0 && c->wh_have < 2) {
            c->wh[c->wh_have++] = *p++, n--;
            continue;
        }
        if (c->wleft == 0) {
            unsigned l7 = c->wh[1] & 0x7f, need = 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0);
            if (c->wh[0] != 0x82 || (c->wh[1] & 0x80)) {
                fail("client %ld: frame header %02x %02x is not an unmasked whole binary message", (long)(c - cs), c->wh[0], c->wh[1]);
                return -1;
            }
            while (c->wh_have < need && n) c->wh[c->wh_have++] = *p++, n--;
            if (c->wh_have < need) return 0;
            uint64_t len = l7;
            if (l7 >= 126) { len = 0; for (unsigned i = 2; i < need; i++) len = len << 8 | c->wh[i]; }
            c->wh_have = 0;
            if (len == 0) continue;
            c->wleft = len;
            if (!n) return 0;
        }
        size_t k = c->wleft < n ? (size_t)c->wleft : n;
        uint64_t s = 0;
        for (size_t i = 0; i < k; i++) s += p[i];
        *bytes += k, *sum += s;
        c->wleft -= k, p += k, n -= k;
    }
    return 0;
}

/* Reads whatever is there; bytes are only counted and summed, since the relay
 * forwards arbitrary chunks and chunks of different senders interleave. The
 * byte sum is order-independent, so it still checks content, not just size. */
static void fan_read(conn *c) {
    do {
        ssize_t r = c_read(c, scratch, sizeof scratch);
        if (r == 0 || (r < 0 && errno != EAGAIN)) {
            fail("client %ld: %s (the relay dropped it?)", (long)(c - cs), r == 0 ? "EOF" : strerror(errno));
            return;
        }
        if (r < 0) return;
        if (opt.ws) {
            if (fan_frames(c, scratch, (size_t)r, &c->rx_bytes, &c->rx_sum) < 0) return;
            continue;
        }
        uint64_t s = 0;
        for (ssize_t i = 0; i < r; i++) s += scratch[i];
        c->rx_bytes += (uint64_t)r; c->rx_sum += s;
    } while (c_pending(c));
}

static void fan_poll(int timeout_ms, int tfd, uint64_t *ticks) {
    struct epoll_event evs[256];
    int k = epoll_wait(ep, evs, 256, timeout_ms);
    for (int i = 0; i < k; i++) {
        if (evs[i].data.ptr == NULL) { /* the round timer */
            uint64_t x; if (read(tfd, &x, 8) == 8) *ticks += x;
            continue;
        }
        conn *c = evs[i].data.ptr;
        if (evs[i].events & EPOLLOUT) fan_flush(c);
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) fan_read(c);
    }
}

static int run_fanout(void) {
    int n = opt.conns < 0 ? 1000 : opt.conns, size = opt.size < 0 ? 256 : opt.size;
    int ns = opt.senders < n ? opt.senders : n;
    if (n < 2 || ns < 1 || size < 8) { fail("need --conns >= 2, --senders >= 1, --size >= 8"); return -1; }
    if (open_all(n) < 0) return -1;
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct epoll_event tev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);
    uint64_t ticks = 0;

    /* Sync: a connect completes before the relay has accepted it, and bytes sent
     * before that would never reach the late client. Client 0 sends one byte every
     * 10 ms until every other client has heard something, then we wait for quiet
     * and start counting from zero. */
    uint64_t deadline = now_ns() + 20ull * 1000000000u, next = 0;
    for (;;) {
        int all = 1;
        for (int i = 1; i < n && all; i++) all = cs[i].rx_bytes > 0;
        if (all) break;
        if (now_ns() >= next) { fan_queue(&cs[0], (const uint8_t *)"s", 1); next = now_ns() + 10000000u; }
        if (now_ns() > deadline) { fail("sync: not every client was reachable through the relay in 20 s"); return -1; }
        fan_poll(5, tfd, &ticks);
        if (errmsg[0]) return -1;
    }
    uint64_t quiet_since = now_ns(), last_total = 0;
    deadline = now_ns() + 5ull * 1000000000u;
    while (now_ns() - quiet_since < 200000000u && now_ns() < deadline) {
        fan_poll(20, tfd, &ticks);
        uint64_t tot = 0;
        for (int i = 0; i < n; i++) tot += cs[i].rx_bytes;
        if (tot != last_total) { last_total = tot; quiet_since = now_ns(); }
        if (errmsg[0]) return -1;
    }
    for (int i = 0; i < n; i++) cs[i].rx_bytes = cs[i].rx_sum = cs[i].tx_bytes = cs[i].tx_sum = 0;

    /* Senders spread over the accept order rather than the first few. */
    int *sender = malloc(sizeof(int) * (size_t)ns);
    for (int s = 0; s < ns; s++) sender[s] = (int)((long)s * n / ns);
    uint8_t *msg = malloc((size_t)size);
    struct itimerspec its = {.it_interval = {0, opt.interval_us * 1000L}, .it_value = {0, opt.interval_us * 1000L}};
    double sys0, sys1, cpu0 = server_cpu_us(&sys0), sch0 = server_cpu_us_sched(), me0 = self_cpu_us();
    uint64_t t0 = now_ns(), t_last_send = 0, t_done = 0;
    timerfd_settime(tfd, 0, &its, NULL);
    int round = 0;
    ticks = 0;
    deadline = t0 + (uint64_t)opt.rounds * opt.interval_us * 1000ull + 60ull * 1000000000u;
    for (;;) {
        /* Round r is due at t0 + r*interval; a late timer catches up, never skips. */
        while (round < opt.rounds && (uint64_t)round <= ticks) {
            for (int s = 0; s < ns; s++) {
                for (int j = 0; j < size; j++) msg[j] = (uint8_t)(j + s * 13 + round);
                memcpy(msg, &sender[s], 4); memcpy(msg + 4, &round, 4);
                fan_queue(&cs[sender[s]], msg, (size_t)size);
            }
            if (++round == opt.rounds) { t_last_send = now_ns(); timerfd_settime(tfd, 0, &(struct itimerspec){0}, NULL); }
        }
        if (errmsg[0]) break;
        if (round == opt.rounds) {
            uint64_t tb = 0, tsum = 0;
            for (int s = 0; s < ns; s++) { tb += cs[sender[s]].tx_bytes; tsum += cs[sender[s]].tx_sum; }
            int complete = 1;
            for (int i = 0; i < n; i++) {
                uint64_t want = tb - cs[i].tx_bytes;
                if (cs[i].rx_bytes > want) { fail("client %d got %llu bytes, expected %llu", i,
                    (unsigned long long)cs[i].rx_bytes, (unsigned long long)want); break; }
                if (cs[i].rx_bytes < want || cs[i].out_len) { complete = 0; break; }
            }
            if (errmsg[0]) break;
            if (complete) {
                t_done = now_ns();
                for (int i = 0; i < n; i++)
                    if (cs[i].rx_sum != tsum - cs[i].tx_sum) { fail("client %d: byte sum mismatch", i); break; }
                break;
            }
        }
        if (now_ns() > deadline) {
            uint64_t tb = 0, have = 0, want = 0;
            for (int s = 0; s < ns; s++) tb += cs[sender[s]].tx_bytes;
            for (int i = 0; i < n; i++) { have += cs[i].rx_bytes; want += tb - cs[i].tx_bytes; }
            fail("timeout: %llu of %llu bytes delivered 60 s after the last round",
                 (unsigned long long)have, (unsigned long long)want);
            break;
        }
        fan_poll(round < opt.rounds ? 1 : 10, tfd, &ticks);
    }
    double cpu1 = server_cpu_us(&sys1), sch1 = server_cpu_us_sched(), me1 = self_cpu_us();
    double secs = t_done ? (double)(t_done - t0) / 1e9 : 0;
    unsigned long long deliveries = (unsigned long long)ns * (unsigned long long)opt.rounds * (unsigned long long)(n - 1);
    printf("{\"mode\":\"fanout\",\"tls\":%d,\"ws\":%d,\"ok\":%s,\"conns\":%d,\"senders\":%d,\"size\":%d,\"rounds\":%d,"
           "\"interval_us\":%d,\"seconds\":%.3f,\"deliveries\":%llu,\"deliveries_per_s\":%.1f,"
           "\"msgs\":%llu,\"msgs_per_s\":%.1f,\"tail_ms\":%.1f,\"server_cpu_us\":%.0f,\"server_sys_us\":%.0f,\"server_cpu_us_sched\":%.0f,"
           "\"loadgen_cpu_pct\":%.0f,\"error\":\"%s\"}\n",
           opt.tls, opt.ws, errmsg[0] ? "false" : "true", n, ns, size, opt.rounds, opt.interval_us, secs, deliveries,
           secs > 0 ? (double)deliveries / secs : 0.0, deliveries, secs > 0 ? (double)deliveries / secs : 0.0,
           t_done && t_last_send ? (double)(t_done - t_last_send) / 1e6 : 0.0, cpu1 - cpu0, sys1 - sys0, sch1 - sch0,
           secs > 0 ? (me1 - me0) / 1e4 / secs : 0.0, errmsg);
    return errmsg[0] ? -1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: loadgen echo|fanout --port P [--tls] [--ws] [options]\n"); return 2; }
    opt.mode = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--tls")) { opt.tls = 1; continue; }
        if (!strcmp(a, "--ws")) { opt.ws = 1; continue; }
        if (!v) { fprintf(stderr, "missing value for %s\n", a); return 2; }
        i++;
        if (!strcmp(a, "--host")) opt.host = v;
        else if (!strcmp(a, "--port")) opt.port = atoi(v);
        else if (!strcmp(a, "--conns")) opt.conns = atoi(v);
        else if (!strcmp(a, "--size")) opt.size = atoi(v);
        else if (!strcmp(a, "--duration")) opt.duration = atof(v);
        else if (!strcmp(a, "--warmup")) opt.warmup = atof(v);
        else if (!strcmp(a, "--senders")) opt.senders = atoi(v);
        else if (!strcmp(a, "--rounds")) opt.rounds = atoi(v);
        else if (!strcmp(a, "--interval-us")) opt.interval_us = atoi(v);
        else if (!strcmp(a, "--pid") && opt.npids < MAX_PIDS) opt.pids[opt.npids++] = atoi(v);
        else { fprintf(stderr, "unknown option %s\n", a); return 2; }
    }
    if (opt.port <= 0 || opt.interval_us <= 0 || opt.interval_us >= 1000000 || opt.rounds < 1) {
        fprintf(stderr, "need --port > 0, 0 < --interval-us < 1000000, --rounds >= 1\n"); return 2;
    }
    /* A server that dies mid-run must fail the run with a message, not kill us by SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    /* 1,000 clients need more than the usual soft limit of 1,024 descriptors. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
    if (RAND_bytes((unsigned char *)&mask_state, sizeof mask_state) != 1 || !mask_state) mask_state = now_ns() | 1;
    ep = epoll_create1(EPOLL_CLOEXEC);
    int n = opt.conns > 0 ? opt.conns : 1000;
    cs = calloc((size_t)n, sizeof *cs);
    int rc;
    if (!strcmp(opt.mode, "echo")) rc = run_echo();
    else if (!strcmp(opt.mode, "fanout")) rc = run_fanout();
    else { fprintf(stderr, "unknown mode %s\n", opt.mode); return 2; }
    if (rc < 0 && errmsg[0]) fprintf(stderr, "loadgen: %s\n", errmsg);
    fflush(stdout);
    return rc < 0 ? 1 : 0;
}
