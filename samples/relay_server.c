/*
 * relay_server — the original chat semantics, raw: every byte received from
 * one client is sent, unchanged, to every other connected client.
 *
 *   relay_server [--host 0.0.0.0] [--port 9034] [--threads N]
 *                [--backend auto|io_uring|epoll|iocp] [--max-queue BYTES]
 *                [--websocket]
 *
 * --websocket: the listener speaks WebSocket and every message (rather than
 * every read) goes to all the others as one binary message: the
 * benchmark's WebSocket fan-out (bench/run.py).
 *
 * Prints "listening on HOST:PORT" once ready; Ctrl-C / SIGTERM shuts it down.
 *
 * Each read is sent to all the others with one iocpnet_send_many: the engine
 * keeps one reference-counted copy for every receiver. The per-read work is
 * small: copy the member ids into the sender's own scratch array under a
 * short lock, then one call without the lock held. The scratch array is per
 * connection because a connection's callbacks never overlap.
 *
 * Slow receivers: send_many skips a receiver whose queue is full, so that
 * receiver's stream would have a gap and it must go: iocpnet_send_many_ex's
 * per-receiver results name exactly those, and they are disconnected at once
 * (the relay totals them, printed at exit).
 */
#include "sample_common.h"
#include <inttypes.h>

typedef struct member {
    iocpnet_conn conn;
    size_t index;          /* position in relay.members */
    iocpnet_conn *scratch; /* receivers of this member's current read */
    int *results;          /* and what send_many_ex did for each */
    size_t scratch_cap;
} member;

static struct relay {
    sample_mutex lock; /* guards the member array and the counter */
    member **members;
    size_t count, cap;
    uint64_t skipped; /* deliveries send_many skipped (receiver full or gone) */
} relay;

static void remove_member_locked(member *m)
{
    member *last = relay.members[--relay.count];
    relay.members[m->index] = last; /* swap-remove keeps it O(1) */
    last->index = m->index;
}

static void IOCPNET_CALL on_accept(void *user, iocpnet_port *port, iocpnet_listener l, iocpnet_conn conn)
{
    member *m = (member *)calloc(1, sizeof *m);
    int added = 0;
    (void)user;
    (void)l;
    if (m == NULL) {
        iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
        return;
    }
    m->conn = conn;
    sample_mutex_lock(&relay.lock);
    if (relay.count == relay.cap) {
        size_t cap = relay.cap ? relay.cap * 2 : 64;
        member **nm = (member **)realloc(relay.members, cap * sizeof *nm);
        if (nm != NULL) {
            relay.members = nm;
            relay.cap = cap;
        }
    }
    if (relay.count < relay.cap) {
        m->index = relay.count;
        relay.members[relay.count++] = m;
        added = 1;
    }
    sample_mutex_unlock(&relay.lock);
    if (added && iocpnet_conn_set_user(port, conn, m) == IOCPNET_OK) return;
    if (added) {
        sample_mutex_lock(&relay.lock);
        remove_member_locked(m);
        sample_mutex_unlock(&relay.lock);
    }
    free(m);
    iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
}

static void IOCPNET_CALL on_data(void *user, iocpnet_port *port, iocpnet_conn conn, const uint8_t *data,
                                 size_t len)
{
    member *m = NULL;
    size_t n = 0, i, queued = 0;
    (void)user;
    if (iocpnet_conn_get_user(port, conn, (void **)&m) != IOCPNET_OK || m == NULL) return;
    sample_mutex_lock(&relay.lock);
    if (m->scratch_cap < relay.count) { /* grows rarely: doubling */
        size_t cap = relay.count * 2;
        iocpnet_conn *ns = (iocpnet_conn *)realloc(m->scratch, cap * sizeof *ns);
        int *nr = ns != NULL ? (int *)realloc(m->results, cap * sizeof *nr) : NULL;
        if (ns != NULL) m->scratch = ns;
        if (nr != NULL) {
            m->results = nr;
            m->scratch_cap = cap;
        }
    }
    for (i = 0; i < relay.count && n < m->scratch_cap; i++)
        if (relay.members[i] != m) m->scratch[n++] = relay.members[i]->conn;
    sample_mutex_unlock(&relay.lock);
    if (n == 0) return;
    if (iocpnet_send_many_ex(port, m->scratch, n, data, len, m->results, &queued) != IOCPNET_OK) {
        iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT); /* out of memory: shed this sender */
        return;
    }
    if (queued == n) return;
    for (i = 0; i < n; i++)
        if (m->results[i] == IOCPNET_E_WOULD_BLOCK && iocpnet_close(port, m->scratch[i], IOCPNET_CLOSE_ABORT) == IOCPNET_OK)
            fprintf(stderr, "relay: disconnected connection %" PRIu64 ": could not keep up\n", (uint64_t)m->scratch[i]);
    sample_mutex_lock(&relay.lock);
    relay.skipped += n - queued;
    sample_mutex_unlock(&relay.lock);
}

static void IOCPNET_CALL on_close(void *user, iocpnet_port *port, iocpnet_conn conn, int reason)
{
    member *m = NULL;
    (void)user;
    (void)reason;
    if (iocpnet_conn_get_user(port, conn, (void **)&m) != IOCPNET_OK || m == NULL) return;
    sample_mutex_lock(&relay.lock);
    remove_member_locked(m);
    sample_mutex_unlock(&relay.lock);
    free(m->scratch);
    free(m->results);
    free(m);
}

int main(int argc, char **argv)
{
    sample_options opt;
    iocpnet_config cfg;
    iocpnet_callbacks cbs;
    iocpnet_conn_options copt;
    iocpnet_port *port = NULL;
    iocpnet_listener listener = 0;
    int rc, ws = sample_take_flag(&argc, argv, "--websocket");

    if (sample_parse_options(argc, argv, &opt, "0.0.0.0", 0) != 0) return 2;
    sample_stop_signals_setup();
    sample_mutex_init(&relay.lock);
    iocpnet_set_log(IOCPNET_LOG_WARN, sample_log, NULL);

    sample_port_setup(&opt, &cfg, &cbs);
    cbs.on_accept = on_accept;
    cbs.on_data = on_data;
    cbs.on_close = on_close;
    iocpnet_conn_options_init(&copt);
    if (ws) copt.framing = IOCPNET_FRAMING_WEBSOCKET;
    if (sample_serve(&opt, &cbs, &cfg, &copt, &port, &listener) != 0) return 1;

    sample_wait_for_stop();
    rc = iocpnet_port_destroy(port);
    if (rc != IOCPNET_OK) sample_report("iocpnet_port_destroy", rc);
    printf("relay server stopped; deliveries skipped: %" PRIu64 "\n", relay.skipped);
    free(relay.members);
    return rc == IOCPNET_OK ? 0 : 1;
}
