/*
 * proxy_server — a TCP proxy: every accepted client gets its own connection
 * to the upstream, and bytes flow both ways until both sides are done.
 *
 *   proxy_server --upstream HOST:PORT [--host 0.0.0.0] [--port 9034]
 *                [--threads N] [--backend auto|io_uring|epoll|iocp]
 *                [--max-queue BYTES] [--tls-cert FILE --tls-key FILE]
 *
 * --tls-cert/--tls-key: the proxy terminates TLS. Clients speak TLS to it,
 * the upstream gets the plaintext over plain TCP. Only the listener has the
 * TLS configuration; everything below works on plaintext as before (the
 * engine's queue bound counts plaintext too), and on_accept comes after
 * the client's handshake.
 *
 * Prints "listening on HOST:PORT" once ready; Ctrl-C / SIGTERM shuts it down.
 *
 * What it shows:
 *
 * Backpressure end to end. A side's bytes are sent to the other side's
 * queue in 64 KiB slices; when a send returns WOULD_BLOCK (the other side's
 * queue holds --max-queue bytes), the rest of that on_data is kept and this
 * side is paused with iocpnet_pause_recv, so the engine stops reading it and
 * TCP's window slows its peer down. The other side's on_drain then asks, with
 * iocpnet_conn_post, for the kept bytes to be sent and the side resumed; the
 * post runs serialized with the paused side's own callbacks, so the kept
 * bytes need no lock. A pair therefore holds at most 2 x --max-queue plus
 * one on_data per side (usually one receive, 64 KiB; more when the engine
 * held bytes across a pause), however slow either peer reads.
 *
 * Connecting. The client is paused from on_accept until the upstream's
 * on_connect, so what it sends meanwhile waits in its own socket buffers.
 *
 * Half-close. Both connections are half_open: a side's FIN
 * (on_peer_shutdown) becomes iocpnet_shutdown_write on the other side, after
 * what is queued; once both directions are done the engine closes both.
 *
 * Closing. Either side's on_close closes the other: with a reset when it was
 * a reset (so the peer learns that the stream broke), gracefully otherwise.
 *
 * Pair state lives in a small struct reached through both connections' user
 * pointers; the data path takes no lock. One short global lock covers the
 * set-up only: on_accept holds it from iocpnet_connect_ex until the upstream's
 * user pointer is set, and an upstream on_connect that finds no user pointer
 * yet waits on it.
 */
#include "sample_common.h"

#define CLIENT 0
#define UPSTREAM 1
#define SLICE 65536 /* bytes per send: --max-queue is at least this, so a slice always fits an empty queue */

struct pair;

typedef struct side {
    struct pair *pair;
    int index;            /* CLIENT or UPSTREAM */
    iocpnet_conn conn;
    uint8_t *kept;        /* bytes the other side's queue refused (WOULD_BLOCK); this side is paused */
    size_t kept_off, kept_len, kept_cap;
    int fin_after_kept;   /* this side's peer shut down while bytes were kept: forward the FIN after them */
} side;

typedef struct pair {
    side s[2];
    sample_mutex lock; /* guards refs only: the two sides' last callbacks may run at once */
    int refs;          /* 2, one per connection still to report its end */
} pair;

static struct proxy {
    const char *up_host;
    uint16_t up_port;
    iocpnet_conn_options copt; /* half_open, for the listener and the upstream connections */
    sample_mutex setup;        /* see the comment at the top */
} proxy;

static void pair_release(pair *p)
{
    int left;
    sample_mutex_lock(&p->lock);
    left = --p->refs;
    sample_mutex_unlock(&p->lock);
    if (left > 0) return;
    free(p->s[CLIENT].kept);
    free(p->s[UPSTREAM].kept);
    free(p);
}

/* The side a connection is, from its user pointer; NULL if it has none. */
static side *side_of(iocpnet_port *port, iocpnet_conn conn)
{
    pair *p = NULL;
    if (iocpnet_conn_get_user(port, conn, (void **)&p) != IOCPNET_OK || p == NULL) return NULL;
    return p->s[CLIENT].conn == conn ? &p->s[CLIENT] : &p->s[UPSTREAM];
}

static side *other(side *s) { return &s->pair->s[1 - s->index]; }

/* Queues bytes read from s on the other side, in slices: one on_data may
 * carry more than the other side's whole queue (bytes the engine held while
 * s was paused come in one piece). *done gets how many were queued; returns
 * IOCPNET_OK when all were, else the first failed send's code. */
static int push(iocpnet_port *port, side *s, const uint8_t *data, size_t len, size_t *done)
{
    int rc = IOCPNET_OK;
    *done = 0;
    while (*done < len && rc == IOCPNET_OK) {
        size_t n = len - *done < SLICE ? len - *done : SLICE;
        rc = iocpnet_send(port, other(s)->conn, data + *done, n);
        if (rc == IOCPNET_OK) *done += n;
    }
    return rc;
}

/* Keeps what the other side refused; runs in s's callbacks only. */
static int keep(side *s, const uint8_t *data, size_t len)
{
    if (s->kept_cap < len) {
        uint8_t *nb = (uint8_t *)malloc(len);
        if (nb == NULL) return -1;
        free(s->kept);
        s->kept = nb;
        s->kept_cap = len;
    }
    memcpy(s->kept, data, len);
    s->kept_off = 0;
    s->kept_len = len;
    return 0;
}

static void IOCPNET_CALL on_data(void *user, iocpnet_port *port, iocpnet_conn conn, const uint8_t *data,
                                 size_t len)
{
    side *s = side_of(port, conn);
    size_t done = 0;
    int rc;
    (void)user;
    if (s == NULL) return;
    rc = push(port, s, data, len, &done);
    if (rc == IOCPNET_OK) return;
    if (rc == IOCPNET_E_WOULD_BLOCK) {
        /* on_drain may already be on its way; its post runs after this
         * callback, so it finds the rest kept either way. */
        iocpnet_pause_recv(port, conn);
        if (keep(s, data + done, len - done) == 0) return;
    }
    /* NOT_FOUND: the other side is closing (its on_close closes this one
     * too); otherwise out of memory. */
    iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
}

/* Posted to side s when the other side's queue drained: serialized with s's
 * callbacks, so s->kept is s's own. */
static void IOCPNET_CALL flush_kept(void *arg, iocpnet_port *port, iocpnet_conn conn)
{
    side *s = (side *)arg;
    size_t done = 0;
    int rc;
    if (s->kept_len == 0) return;
    rc = push(port, s, s->kept + s->kept_off, s->kept_len, &done);
    s->kept_off += done;
    s->kept_len -= done;
    if (rc == IOCPNET_E_WOULD_BLOCK) return; /* still too full: the next on_drain comes back here */
    if (rc != IOCPNET_OK) {
        iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
        return;
    }
    if (s->kept_cap > SLICE) { /* a large hold was a one-off: do not keep its buffer */
        free(s->kept);
        s->kept = NULL;
        s->kept_cap = 0;
    }
    if (s->fin_after_kept) {
        s->fin_after_kept = 0;
        iocpnet_shutdown_write(port, other(s)->conn);
    }
    iocpnet_resume_recv(port, conn);
}

static void IOCPNET_CALL on_drain(void *user, iocpnet_port *port, iocpnet_conn conn)
{
    side *s = side_of(port, conn);
    (void)user;
    if (s == NULL) return;
    /* NOT_FOUND: the other side is closing, and its on_close closes this one. */
    iocpnet_conn_post(port, other(s)->conn, flush_kept, other(s));
}

static void IOCPNET_CALL on_peer_shutdown(void *user, iocpnet_port *port, iocpnet_conn conn)
{
    side *s = side_of(port, conn);
    (void)user;
    if (s == NULL) return;
    if (s->kept_len > 0) s->fin_after_kept = 1; /* the FIN goes after the kept bytes */
    else iocpnet_shutdown_write(port, other(s)->conn);
}

static void IOCPNET_CALL on_accept(void *user, iocpnet_port *port, iocpnet_listener l, iocpnet_conn conn)
{
    pair *p = (pair *)calloc(1, sizeof *p);
    iocpnet_conn up = 0;
    int rc;
    (void)user;
    (void)l;
    if (p == NULL) {
        iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
        return;
    }
    sample_mutex_init(&p->lock);
    p->refs = 1; /* the client's; the upstream's once it is connecting */
    p->s[CLIENT].pair = p->s[UPSTREAM].pair = p;
    p->s[CLIENT].index = CLIENT;
    p->s[UPSTREAM].index = UPSTREAM;
    p->s[CLIENT].conn = conn;
    /* Nothing is read from the client until the upstream is there. */
    if (iocpnet_pause_recv(port, conn) != IOCPNET_OK || iocpnet_conn_set_user(port, conn, p) != IOCPNET_OK) {
        free(p);
        iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
        return;
    }
    sample_mutex_lock(&proxy.setup);
    rc = iocpnet_connect_ex(port, proxy.up_host, proxy.up_port, &proxy.copt, &up);
    if (rc == IOCPNET_OK) {
        p->s[UPSTREAM].conn = up;
        p->refs = 2;
        /* Fails only when the connect already failed (on_connect ran and
         * found no pair): then the pair has no upstream and must close. */
        if (iocpnet_conn_set_user(port, up, p) != IOCPNET_OK) {
            p->refs = 1;
            rc = IOCPNET_E_NOT_FOUND;
        }
    }
    sample_mutex_unlock(&proxy.setup);
    if (rc != IOCPNET_OK) iocpnet_close(port, conn, IOCPNET_CLOSE_GRACEFUL); /* on_close frees the pair */
}

static void IOCPNET_CALL on_connect(void *user, iocpnet_port *port, iocpnet_conn conn, int status)
{
    side *s = side_of(port, conn);
    (void)user;
    if (s == NULL) { /* on_accept may not have set the user pointer yet */
        sample_mutex_lock(&proxy.setup);
        sample_mutex_unlock(&proxy.setup);
        s = side_of(port, conn);
    }
    if (s == NULL) return; /* connect failed before on_accept could attach it: on_accept closes the client */
    if (status == IOCPNET_OK) {
        iocpnet_resume_recv(port, other(s)->conn); /* NOT_FOUND: the client already left; its on_close closes us */
        return;
    }
    /* A failed connect is the upstream's last callback (no on_close). */
    iocpnet_close(port, other(s)->conn, IOCPNET_CLOSE_GRACEFUL);
    pair_release(s->pair);
}

static void IOCPNET_CALL on_close(void *user, iocpnet_port *port, iocpnet_conn conn, int reason)
{
    side *s = side_of(port, conn);
    side *o;
    (void)user;
    if (s == NULL) return;
    o = other(s);
    if (o->conn != 0) {
        int mode = reason == IOCPNET_E_CONN_RESET ? IOCPNET_CLOSE_ABORT : IOCPNET_CLOSE_GRACEFUL;
        /* Bytes still kept here would be lost by a graceful close: the
         * peer must not mistake the cut stream for a whole one. */
        if (mode == IOCPNET_CLOSE_GRACEFUL && s->kept_len > 0 &&
            iocpnet_send(port, o->conn, s->kept + s->kept_off, s->kept_len) != IOCPNET_OK)
            mode = IOCPNET_CLOSE_ABORT;
        iocpnet_close(port, o->conn, mode); /* NOT_FOUND when it closed first: fine */
    }
    pair_release(s->pair);
}

/* Takes "--upstream HOST:PORT" out of argv (the rest goes to
 * sample_parse_options). Returns 0, or -1 when missing or malformed. */
static int take_upstream(int *argc, char **argv, char *host, size_t hostlen)
{
    int i, j, found = 0;
    for (i = 1; i < *argc; i++) {
        const char *v, *colon;
        unsigned port = 0;
        if (strcmp(argv[i], "--upstream") != 0) continue;
        v = i + 1 < *argc ? argv[i + 1] : NULL;
        colon = v ? strrchr(v, ':') : NULL;
        if (colon == NULL || (size_t)(colon - v) >= hostlen || sample_parse_uint(colon + 1, 65535, &port) != 0 ||
            port == 0)
            return -1;
        memcpy(host, v, (size_t)(colon - v));
        host[colon - v] = '\0';
        if (host[0] == '[' && colon - v >= 2 && host[colon - v - 1] == ']') { /* [::1]:80 */
            memmove(host, host + 1, (size_t)(colon - v) - 2);
            host[colon - v - 2] = '\0';
        }
        proxy.up_port = (uint16_t)port;
        for (j = i; j + 2 < *argc; j++) argv[j] = argv[j + 2];
        *argc -= 2;
        i--;
        found = 1;
    }
    return found ? 0 : -1;
}

int main(int argc, char **argv)
{
    static char up_host[256];
    sample_options opt;
    iocpnet_config cfg;
    iocpnet_callbacks cbs;
    iocpnet_conn_options lopt;
    iocpnet_tls *tls = NULL;
    iocpnet_port *port = NULL;
    iocpnet_listener listener = 0;
    int rc;

    if (take_upstream(&argc, argv, up_host, sizeof up_host) != 0 ||
        sample_parse_options(argc, argv, &opt, "0.0.0.0", 0) != 0 || (opt.max_queue && opt.max_queue < 65536)) {
        fprintf(stderr, "usage: %s --upstream HOST:PORT [options above]; --max-queue is at least 65536 "
                        "(one receive must fit)\n", argv[0]);
        return 2;
    }
    proxy.up_host = up_host;
    sample_stop_signals_setup();
    sample_mutex_init(&proxy.setup);
    iocpnet_set_log(IOCPNET_LOG_WARN, sample_log, NULL);

    iocpnet_conn_options_init(&proxy.copt);
    proxy.copt.half_open = 1;
    sample_port_setup(&opt, &cfg, &cbs);
    cbs.on_accept = on_accept;
    cbs.on_connect = on_connect;
    cbs.on_data = on_data;
    cbs.on_drain = on_drain;
    cbs.on_close = on_close;
    cbs.on_peer_shutdown = on_peer_shutdown;
    /* The listener: the upstream connections' options, plus TLS when asked. */
    lopt = proxy.copt;
    if (sample_tls(&opt, 1, &tls) != 0) return 1;
    lopt.tls = tls; /* NULL: plain TCP */
    rc = sample_serve(&opt, &cbs, &cfg, &lopt, &port, &listener);
    if (tls) iocpnet_tls_release(tls); /* the listener holds its own reference */
    if (rc != 0) return 1;
    printf("forwarding to %s:%u\n", up_host, (unsigned)proxy.up_port);
    fflush(stdout);

    sample_wait_for_stop();
    rc = iocpnet_port_destroy(port);
    if (rc != IOCPNET_OK) sample_report("iocpnet_port_destroy", rc);
    printf("proxy server stopped\n");
    return rc == IOCPNET_OK ? 0 : 1;
}
