/*
 * chat_client — a terminal client for chat_server.
 *
 *   chat_client [--host 127.0.0.1] [--port 9034] [--backend ...] [--tls [--ca FILE] [--insecure]]
 *
 * Sends each line read from stdin, prints each line received. Exits 0 on
 * stdin EOF (after a graceful close) or when the server closes, 1 when it
 * cannot connect.
 *
 * The main thread blocks reading stdin, which standard C cannot interrupt,
 * so when the server closes first the engine thread that learns it ends the
 * process itself: it flushes stdout and calls _Exit (not exit, which would
 * run library destructors while the engine's threads still run); the system
 * closes the socket.
 */
#include "sample_common.h"

static sample_mutex lock; /* guards the two flags */
static int closed, closing_by_us;

static void IOCPNET_CALL on_connect(void *user, iocpnet_port *port, iocpnet_conn conn, int status)
{
    (void)user;
    (void)port;
    if (status != IOCPNET_OK) {
        char why[256] = "";
        iocpnet_conn_tls_info(port, conn, IOCPNET_TLS_INFO_ERROR, why, sizeof why); /* "" for plain TCP */
        fprintf(stderr, "cannot connect: %s%s%s\n", iocpnet_strerror(status), *why ? ": " : "", why);
        fflush(stdout);
        _Exit(1);
    }
}

static void IOCPNET_CALL on_data(void *user, iocpnet_port *port, iocpnet_conn conn, const uint8_t *data,
                                 size_t len)
{
    (void)user;
    (void)port;
    (void)conn;
    fwrite(data, 1, len, stdout); /* one line, without its "\n" */
    fputc('\n', stdout);
    fflush(stdout);
}

static void IOCPNET_CALL on_close(void *user, iocpnet_port *port, iocpnet_conn conn, int reason)
{
    int ours;
    (void)user;
    (void)port;
    (void)conn;
    sample_mutex_lock(&lock);
    closed = 1;
    ours = closing_by_us;
    sample_mutex_unlock(&lock);
    if (ours) return; /* main is waiting for this */
    if (reason != IOCPNET_E_PEER_CLOSED && reason != IOCPNET_OK)
        fprintf(stderr, "connection closed: %s\n", iocpnet_strerror(reason));
    fflush(stdout);
    _Exit(0);
}

/* Reads one line of any length into *buf (grown as needed), without its
 * "\n" or "\r\n". Returns its length, or -1 at end of input. */
static long read_line(char **buf, size_t *cap)
{
    size_t len = 0;
    for (;;) {
        if (*cap - len < 2) {
            size_t ncap = *cap ? *cap * 2 : 1024;
            char *nb = (char *)realloc(*buf, ncap);
            if (nb == NULL) return -1;
            *buf = nb;
            *cap = ncap;
        }
        if (fgets(*buf + len, (int)(*cap - len), stdin) == NULL) {
            if (len == 0) return -1;
            break; /* a last line without "\n" */
        }
        len += strlen(*buf + len);
        if (len > 0 && (*buf)[len - 1] == '\n') {
            len--;
            break;
        }
    }
    if (len > 0 && (*buf)[len - 1] == '\r') len--;
    (*buf)[len] = '\0';
    return (long)len;
}

int main(int argc, char **argv)
{
    sample_options opt;
    iocpnet_config cfg;
    iocpnet_conn_options copt;
    iocpnet_callbacks cbs;
    iocpnet_port *port = NULL;
    iocpnet_conn conn = 0;
    iocpnet_tls *tls = NULL;
    char *line = NULL;
    size_t cap = 0;
    long len;
    unsigned waited;
    int rc, done = 0;

    if (sample_parse_options(argc, argv, &opt, "127.0.0.1", 0) != 0) return 2;
    sample_mutex_init(&lock);
#ifndef _WIN32
    signal(SIGPIPE, SIG_IGN);
#endif
    iocpnet_set_log(IOCPNET_LOG_WARN, sample_log, NULL);
    sample_port_setup(&opt, &cfg, &cbs);
    if (!opt.threads) cfg.worker_threads = 1; /* one connection: one worker is plenty */
    cbs.on_connect = on_connect;
    cbs.on_data = on_data;
    cbs.on_close = on_close;
    rc = iocpnet_port_create(&cfg, &cbs, NULL, &port);
    if (rc != IOCPNET_OK) {
        sample_report("iocpnet_port_create", rc);
        return 1;
    }
    iocpnet_conn_options_init(&copt);
    copt.framing = IOCPNET_FRAMING_LINE;
    if (sample_tls(&opt, 0, &tls) != 0) {
        iocpnet_port_destroy(port);
        return 1;
    }
    copt.tls = tls; /* NULL: plain TCP */
    rc = iocpnet_connect_ex(port, opt.host, (uint16_t)opt.port, &copt, &conn);
    if (tls) iocpnet_tls_release(tls); /* the connection holds its own reference */
    if (rc != IOCPNET_OK) {
        sample_report("iocpnet_connect", rc);
        iocpnet_port_destroy(port);
        return 1;
    }

    /* lines typed before the connection is up are queued by the engine */
    while (!done && (len = read_line(&line, &cap)) >= 0) {
        for (;;) {
            rc = iocpnet_send(port, conn, line, (size_t)len);
            if (rc != IOCPNET_E_WOULD_BLOCK) break;
            sample_sleep_ms(5); /* stdin is faster than the network: wait a little */
        }
        if (rc == IOCPNET_E_NOT_FOUND) done = 1; /* closed: on_close ends the process */
        else if (rc != IOCPNET_OK) sample_report("send", rc);
    }
    free(line);

    sample_mutex_lock(&lock);
    closing_by_us = 1;
    sample_mutex_unlock(&lock);
    iocpnet_close(port, conn, IOCPNET_CLOSE_GRACEFUL);
    for (waited = 0; waited < 5000; waited += 10) { /* until the queue is flushed */
        int c;
        sample_mutex_lock(&lock);
        c = closed;
        sample_mutex_unlock(&lock);
        if (c) break;
        sample_sleep_ms(10);
    }
    rc = iocpnet_port_destroy(port);
    fflush(stdout);
    return rc == IOCPNET_OK ? 0 : 1;
}
