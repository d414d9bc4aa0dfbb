/*
 * echo_server — sends every byte it receives straight back (RAW framing).
 *
 *   echo_server [--host 0.0.0.0] [--port 9034] [--threads N]
 *               [--backend auto|io_uring|epoll|iocp] [--max-queue BYTES]
 *               [--tls-cert FILE --tls-key FILE] [--websocket]
 *
 * --tls-cert/--tls-key: the echo runs over TLS. --websocket: the listener
 * speaks WebSocket (any request path) and every message is echoed as one
 * message of the same type (text or binary); with TLS, that is wss. Both
 * are the benchmark's TLS and WebSocket echo servers (bench/run.py).
 *
 * Prints "listening on HOST:PORT" once ready; Ctrl-C / SIGTERM shuts it down
 * cleanly. It is also the benchmark's echo server, so the hot path is one
 * iocpnet_send from on_data.
 *
 * Backpressure: iocpnet_send returns IOCPNET_E_WOULD_BLOCK when the peer does
 * not read its echoes fast enough. An echo server must not drop bytes, so
 * the rest is kept in a per-connection pending buffer (attached with
 * iocpnet_conn_set_user) and sent from on_drain, in order. A peer that keeps
 * sending without ever reading would grow that buffer forever, so beyond
 * PENDING_MAX it is disconnected.
 */
#include "sample_common.h"

#define PENDING_MAX (8u << 20) /* bytes waiting beyond the engine's queue */
#define CHUNK (256u << 10)     /* sends from the pending buffer, per call */

typedef struct pending {
    uint8_t *buf;
    size_t len, cap;
} pending;

/* --websocket: the pending buffer keeps message boundaries, each message
 * as a record [4-byte length][1-byte type][payload]. */
static int ws_mode;
#define REC_HEAD 5

/* Appends to the pending buffer; 0, or -1 when over PENDING_MAX / no memory. */
static int pending_append(pending *p, const uint8_t *data, size_t len, uint8_t type)
{
    size_t need = len + (ws_mode ? REC_HEAD : 0);
    if (p->len + need > PENDING_MAX) return -1;
    if (p->len + need > p->cap) {
        size_t cap = p->cap ? p->cap : 64u << 10;
        uint8_t *nb;
        while (cap < p->len + need) cap *= 2;
        nb = (uint8_t *)realloc(p->buf, cap);
        if (nb == NULL) return -1;
        p->buf = nb;
        p->cap = cap;
    }
    if (ws_mode) {
        uint32_t n = (uint32_t)len;
        memcpy(p->buf + p->len, &n, 4);
        p->buf[p->len + 4] = type;
        p->len += REC_HEAD;
    }
    memcpy(p->buf + p->len, data, len);
    p->len += len;
    return 0;
}

/* One WebSocket message with the type it came with: the connection's send
 * type is binary (the default) but around a text message. */
static int ws_send(iocpnet_port *port, iocpnet_conn conn, const uint8_t *data, size_t len, uint8_t type)
{
    int rc;
    if (type != IOCPNET_WS_TEXT) return iocpnet_send(port, conn, data, len);
    iocpnet_ws_set_send_type(port, conn, IOCPNET_WS_TEXT);
    rc = iocpnet_send(port, conn, data, len);
    iocpnet_ws_set_send_type(port, conn, IOCPNET_WS_BINARY);
    return rc;
}

/* Sends as much of the pending buffer as the queue takes (bytes in CHUNK
 * slices; WebSocket: whole messages). Returns 1 when it is empty, 0 when
 * some remains (on_drain follows), -1 on a real error. */
static int pending_flush(iocpnet_port *port, iocpnet_conn conn, pending *p)
{
    size_t off = 0;
    int rc = IOCPNET_OK;
    while (off < p->len) {
        if (ws_mode) {
            uint32_t n;
            memcpy(&n, p->buf + off, 4);
            rc = ws_send(port, conn, p->buf + off + REC_HEAD, n, p->buf[off + 4]);
            if (rc != IOCPNET_OK) break;
            off += REC_HEAD + n;
        } else {
            size_t n = p->len - off < CHUNK ? p->len - off : CHUNK;
            rc = iocpnet_send(port, conn, p->buf + off, n);
            if (rc != IOCPNET_OK) break;
            off += n;
        }
    }
    memmove(p->buf, p->buf + off, p->len - off);
    p->len -= off;
    if (rc == IOCPNET_E_WOULD_BLOCK) return 0;
    return rc == IOCPNET_OK ? 1 : -1;
}

/* Callbacks of one connection never run concurrently, so its pending
 * buffer needs no lock. */
static void IOCPNET_CALL on_data(void *user, iocpnet_port *port, iocpnet_conn conn, const uint8_t *data,
                                 size_t len)
{
    pending *p = NULL;
    int rc = IOCPNET_OK;
    uint32_t type = IOCPNET_WS_BINARY;
    (void)user;
    iocpnet_conn_get_user(port, conn, (void **)&p);
    if (ws_mode) iocpnet_ws_message_type(port, conn, &type);
    if (p == NULL || p->len == 0) { /* the usual case: nothing waits, echo at once */
        rc = ws_mode ? ws_send(port, conn, data, len, (uint8_t)type) : iocpnet_send(port, conn, data, len);
        if (rc == IOCPNET_OK || rc == IOCPNET_E_NOT_FOUND) return;
        /* a WebSocket message over the queue's bound can never go out whole */
        if (rc != IOCPNET_E_WOULD_BLOCK && (rc != IOCPNET_E_LIMIT || ws_mode)) {
            iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
            return;
        }
        if (p == NULL) {
            p = (pending *)calloc(1, sizeof *p);
            if (p == NULL || iocpnet_conn_set_user(port, conn, p) != IOCPNET_OK) {
                free(p);
                iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
                return;
            }
        }
    }
    /* queue full, or bytes already waiting: these go behind, in order */
    if (pending_append(p, data, len, (uint8_t)type) != 0) {
        fprintf(stderr, "echo: peer does not read its echoes; disconnecting\n");
        iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
        return;
    }
    /* a LIMIT (chunk bigger than the queue) is retried in smaller chunks */
    if (rc == IOCPNET_E_LIMIT && pending_flush(port, conn, p) < 0)
        iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
}

static void IOCPNET_CALL on_drain(void *user, iocpnet_port *port, iocpnet_conn conn)
{
    pending *p = NULL;
    (void)user;
    if (iocpnet_conn_get_user(port, conn, (void **)&p) != IOCPNET_OK || p == NULL) return;
    if (pending_flush(port, conn, p) < 0) iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
    /* the buffer stays attached (empty) until on_close: cheap, and avoids
     * racing on_data for who frees it */
}

static void IOCPNET_CALL on_close(void *user, iocpnet_port *port, iocpnet_conn conn, int reason)
{
    pending *p = NULL;
    (void)user;
    (void)reason;
    iocpnet_conn_get_user(port, conn, (void **)&p);
    if (p != NULL) {
        free(p->buf);
        free(p);
    }
}

int main(int argc, char **argv)
{
    sample_options opt;
    iocpnet_config cfg;
    iocpnet_callbacks cbs;
    iocpnet_conn_options copt;
    iocpnet_tls *tls = NULL;
    iocpnet_port *port = NULL;
    iocpnet_listener listener = 0;
    int rc;

    ws_mode = sample_take_flag(&argc, argv, "--websocket");
    if (sample_parse_options(argc, argv, &opt, "0.0.0.0", 0) != 0) return 2;
    sample_stop_signals_setup();
    iocpnet_set_log(IOCPNET_LOG_WARN, sample_log, NULL);

    sample_port_setup(&opt, &cfg, &cbs);
    cbs.on_data = on_data;
    cbs.on_drain = on_drain;
    cbs.on_close = on_close;

    iocpnet_conn_options_init(&copt);
    if (ws_mode) copt.framing = IOCPNET_FRAMING_WEBSOCKET;
    if (sample_tls(&opt, 1, &tls) != 0) return 1;
    copt.tls = tls; /* NULL: plain TCP */
    rc = sample_serve(&opt, &cbs, &cfg, &copt, &port, &listener);
    if (tls) iocpnet_tls_release(tls); /* the listener holds its own reference */
    if (rc != 0) return 1;

    sample_wait_for_stop();

    /* closes every connection (on_close frees their buffers) and joins the
     * workers */
    rc = iocpnet_port_destroy(port);
    if (rc != IOCPNET_OK) sample_report("iocpnet_port_destroy", rc);
    printf("echo server stopped\n");
    return rc == IOCPNET_OK ? 0 : 1;
}
