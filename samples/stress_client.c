/*
 * stress_client — drives any echo server through iocpnet itself and checks
 * every byte that comes back.
 *
 *   stress_client [--host 127.0.0.1] [--port 9034] [--connections 10] [--messages 1000]
 *                 [--size 64 | --text "..."] [--threads 1] [--backend auto|io_uring|epoll|iocp]
 *                 [--timeout 60]
 *
 * Each connection sends one message, waits for its whole echo, compares it
 * byte for byte with what it sent, and only then sends the next (ping-pong),
 * until it has sent --messages. With --size B each message is B bytes: the
 * connection's index and the message's sequence number in the first 8 bytes
 * (when B >= 8), then a per-connection pattern, so a stale, mixed-up or short
 * echo does not verify. With --text every message is that text.
 *
 * Prints the messages verified, errors, msgs/s and MB/s (echoed payload, over
 * the whole run from the first connect to the last echo) and the p50/p99/p999
 * round-trip latency, then one JSON line with the same figures.
 * Exit status 0 only when every message of every connection verified.
 * Windows (IOCP) and Linux (io_uring, epoll) alike.
 */
#include "sample_common.h"

#ifdef _WIN32
static double now_us(void)
{
    static LARGE_INTEGER freq;
    LARGE_INTEGER t;
    if (!freq.QuadPart) QueryPerformanceFrequency(&freq);
    QueryPerformanceCounter(&t);
    return (double)t.QuadPart * 1e6 / (double)freq.QuadPart;
}
#else
static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}
#endif

typedef struct client {
    unsigned index;
    iocpnet_conn conn;
    unsigned sent;      /* messages sent; the last one is in flight until verified */
    unsigned verified;  /* echoes that matched byte for byte */
    size_t recvd;       /* bytes of the current echo received so far */
    double t_send;      /* when the message in flight was sent */
    unsigned char *msg; /* the message in flight */
    float *lat_us;      /* round-trip time of each verified message */
    int done;           /* finished: all verified, or failed */
    char error[160];    /* the first failure of this connection */
} client;

static struct {
    const char *host;
    unsigned port, connections, messages, size, threads, timeout_s;
    uint32_t backend;
    const char *text;
} opt;

static client *clients;
static sample_mutex lock; /* guards finished; held by main while it starts a connection */
static unsigned finished;

/* The message with sequence number seq (0-based) of client c. */
static void fill(client *c, unsigned seq)
{
    unsigned i;
    if (opt.text) return; /* the same text every time: filled once */
    for (i = 0; i < opt.size; i++) c->msg[i] = (unsigned char)(i * 31u + c->index * 7u + seq + 1u);
    if (opt.size >= 8) {
        memcpy(c->msg, &c->index, 4);
        memcpy(c->msg + 4, &seq, 4);
    }
}

static void finish(client *c)
{
    if (c->done) return;
    c->done = 1;
    sample_mutex_lock(&lock);
    finished++;
    sample_mutex_unlock(&lock);
}

static void fail(iocpnet_port *port, client *c, const char *what, int err)
{
    if (c->done) return;
    snprintf(c->error, sizeof c->error, "connection %u, message %u: %s%s%s", c->index, c->sent, what,
             err ? " " : "", err ? iocpnet_err_name(err) : "");
    iocpnet_close(port, c->conn, IOCPNET_CLOSE_ABORT);
    finish(c);
}

static void send_next(iocpnet_port *port, client *c)
{
    int rc;
    fill(c, c->sent);
    c->recvd = 0;
    c->t_send = now_us();
    c->sent++;
    rc = iocpnet_send(port, c->conn, c->msg, opt.size);
    if (rc != IOCPNET_OK) fail(port, c, "send:", rc);
}

static client *lookup(iocpnet_port *port, iocpnet_conn conn)
{
    void *user = NULL;
    iocpnet_conn_get_user(port, conn, &user);
    return (client *)user;
}

static void IOCPNET_CALL on_connect(void *user, iocpnet_port *port, iocpnet_conn conn, int status)
{
    client *c;
    (void)user;
    /* main holds the lock from iocpnet_connect until iocpnet_conn_set_user:
     * passing through it here means the user pointer is set. */
    sample_mutex_lock(&lock);
    sample_mutex_unlock(&lock);
    c = lookup(port, conn);
    if (!c) return;
    if (status != IOCPNET_OK) {
        fail(port, c, "connect:", status);
        return;
    }
    send_next(port, c);
}

static void IOCPNET_CALL on_data(void *user, iocpnet_port *port, iocpnet_conn conn, const uint8_t *data, size_t len)
{
    client *c = lookup(port, conn);
    (void)user;
    if (!c || c->done) return;
    if (c->recvd + len > opt.size) {
        fail(port, c, "more bytes than were sent", 0);
        return;
    }
    if (memcmp(data, c->msg + c->recvd, len) != 0) {
        fail(port, c, "echo differs from what was sent", 0);
        return;
    }
    c->recvd += len;
    if (c->recvd < opt.size) return;
    c->lat_us[c->verified++] = (float)(now_us() - c->t_send);
    if (c->sent < opt.messages) {
        send_next(port, c);
    } else {
        iocpnet_close(port, conn, IOCPNET_CLOSE_GRACEFUL);
        finish(c);
    }
}

static void IOCPNET_CALL on_close(void *user, iocpnet_port *port, iocpnet_conn conn, int reason)
{
    client *c = lookup(port, conn);
    (void)user;
    if (c && !c->done) {
        snprintf(c->error, sizeof c->error, "connection %u: closed after %u of %u messages (%s)", c->index,
                 c->verified, opt.messages, iocpnet_err_name(reason));
        finish(c);
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--host H] [--port P] [--connections N] [--messages M] [--size B | --text TEXT]\n"
            "          [--threads T] [--backend auto|io_uring|epoll|iocp] [--timeout SECONDS]\n",
            argv0);
    return 2;
}

static int parse(int argc, char **argv)
{
    int i;
    opt.host = "127.0.0.1";
    opt.port = 9034;
    opt.connections = 10;
    opt.messages = 1000;
    opt.size = 64;
    opt.threads = 1;
    opt.timeout_s = 60;
    opt.backend = IOCPNET_BACKEND_AUTO;
    for (i = 1; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = v != NULL;
        if (!ok) break;
        if (strcmp(a, "--host") == 0) opt.host = v;
        else if (strcmp(a, "--port") == 0) ok = sample_parse_uint(v, 65535, &opt.port) == 0;
        else if (strcmp(a, "--connections") == 0) ok = sample_parse_uint(v, 100000, &opt.connections) == 0;
        else if (strcmp(a, "--messages") == 0) ok = sample_parse_uint(v, 100000000, &opt.messages) == 0;
        else if (strcmp(a, "--size") == 0) ok = sample_parse_uint(v, 64u << 20, &opt.size) == 0;
        else if (strcmp(a, "--threads") == 0) ok = sample_parse_uint(v, 1024, &opt.threads) == 0;
        else if (strcmp(a, "--timeout") == 0) ok = sample_parse_uint(v, 86400, &opt.timeout_s) == 0;
        else if (strcmp(a, "--text") == 0) opt.text = v;
        else if (strcmp(a, "--backend") == 0) {
            if (strcmp(v, "auto") == 0) opt.backend = IOCPNET_BACKEND_AUTO;
            else if (strcmp(v, "io_uring") == 0) opt.backend = IOCPNET_BACKEND_IO_URING;
            else if (strcmp(v, "epoll") == 0) opt.backend = IOCPNET_BACKEND_EPOLL;
            else if (strcmp(v, "iocp") == 0) opt.backend = IOCPNET_BACKEND_IOCP;
            else ok = 0;
        } else ok = 0;
        if (!ok) return usage(argv[0]);
    }
    if (i < argc) return usage(argv[0]);
    if (opt.text) opt.size = (unsigned)strlen(opt.text);
    if (opt.size == 0 || opt.connections == 0 || opt.messages == 0) {
        fprintf(stderr, "--size (or --text), --connections and --messages must be at least 1\n");
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    iocpnet_config cfg;
    iocpnet_callbacks cbs;
    iocpnet_port *port = NULL;
    iocpnet_stats st;
    unsigned i, done;
    unsigned long long verified = 0, expected, errors = 0, nlat = 0;
    float *all;
    double t0, t1, secs, p50 = 0, p99 = 0, p999 = 0;
    int rc = parse(argc, argv);
    if (rc) return rc;
#ifndef _WIN32
    signal(SIGPIPE, SIG_IGN); /* a server that goes away is an error to report, not a death */
#endif
    sample_mutex_init(&lock);

    clients = (client *)calloc(opt.connections, sizeof *clients);
    if (!clients) return 1;
    for (i = 0; i < opt.connections; i++) {
        clients[i].index = i;
        clients[i].msg = (unsigned char *)malloc(opt.size);
        clients[i].lat_us = (float *)malloc(sizeof(float) * opt.messages);
        if (!clients[i].msg || !clients[i].lat_us) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        if (opt.text) memcpy(clients[i].msg, opt.text, opt.size);
    }

    iocpnet_config_init(&cfg);
    cfg.worker_threads = opt.threads;
    cfg.backend = opt.backend;
    cfg.connect_timeout_ms = 10000;
    memset(&cbs, 0, sizeof cbs);
    cbs.struct_size = sizeof cbs;
    cbs.on_connect = on_connect;
    cbs.on_data = on_data;
    cbs.on_close = on_close;
    iocpnet_set_log(IOCPNET_LOG_WARN, sample_log, NULL);
    rc = iocpnet_port_create(&cfg, &cbs, NULL, &port);
    if (rc != IOCPNET_OK) {
        sample_report("iocpnet_port_create", rc);
        return 1;
    }

    t0 = now_us();
    for (i = 0; i < opt.connections; i++) {
        client *c = &clients[i];
        sample_mutex_lock(&lock);
        rc = iocpnet_connect(port, opt.host, (uint16_t)opt.port, &c->conn);
        if (rc == IOCPNET_OK) rc = iocpnet_conn_set_user(port, c->conn, c);
        sample_mutex_unlock(&lock);
        if (rc != IOCPNET_OK) {
            snprintf(c->error, sizeof c->error, "connection %u: connect: %s (%s)", i, iocpnet_err_name(rc),
                     iocpnet_last_error_message());
            finish(c);
        }
    }
    for (;;) { /* wait for every connection to finish, or the timeout */
        sample_mutex_lock(&lock);
        done = finished;
        sample_mutex_unlock(&lock);
        if (done == opt.connections || now_us() - t0 > opt.timeout_s * 1e6) break;
        sample_sleep_ms(2);
    }
    t1 = now_us();
    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    iocpnet_get_stats(port, &st);
    iocpnet_port_destroy(port); /* no callback runs after this: the clients are ours again */

    expected = (unsigned long long)opt.connections * opt.messages;
    all = (float *)malloc(sizeof(float) * (size_t)expected);
    for (i = 0; i < opt.connections; i++) {
        client *c = &clients[i];
        if (all) memcpy(all + nlat, c->lat_us, sizeof(float) * c->verified);
        nlat += c->verified;
        verified += c->verified;
        if (c->verified < opt.messages) {
            errors++;
            if (errors <= 5)
                fprintf(stderr, "error: %s\n", c->error[0] ? c->error : "unfinished at the timeout");
        }
    }
    if (all && nlat) {
        qsort(all, (size_t)nlat, sizeof(float), cmp_float);
        p50 = all[nlat / 2];
        p99 = all[(size_t)((double)nlat * 0.99)];
        p999 = all[(size_t)((double)nlat * 0.999)];
    }
    secs = (t1 - t0) / 1e6;
    printf("stress_client: %u connections x %u messages of %u B to %s:%u (%s, %u worker thread%s)\n",
           opt.connections, opt.messages, opt.size, opt.host, opt.port, sample_backend_name(st.backend),
           opt.threads, opt.threads == 1 ? "" : "s");
    printf("messages: %llu of %llu verified, errors: %llu\n", verified, expected, errors);
    printf("throughput: %.0f msgs/s, %.2f MB/s in %.3f s\n", verified / secs, verified * opt.size / secs / 1e6, secs);
    printf("latency: p50 %.1f us, p99 %.1f us, p999 %.1f us\n", p50, p99, p999);
    printf("{\"ok\":%s,\"connections\":%u,\"messages\":%u,\"size\":%u,\"msgs\":%llu,\"expected\":%llu,"
           "\"errors\":%llu,\"seconds\":%.3f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,\"p50_us\":%.1f,"
           "\"p99_us\":%.1f,\"p999_us\":%.1f,\"backend\":\"%s\"}\n",
           errors == 0 && verified == expected ? "true" : "false", opt.connections, opt.messages, opt.size, verified,
           expected, errors, secs, verified / secs, verified * opt.size / secs / 1e6, p50, p99, p999,
           sample_backend_name(st.backend));
    fflush(stdout);
    free(all);
    for (i = 0; i < opt.connections; i++) {
        free(clients[i].msg);
        free(clients[i].lat_us);
    }
    free(clients);
    return errors == 0 && verified == expected ? 0 : 1;
}
