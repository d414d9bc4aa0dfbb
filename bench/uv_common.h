/*
 * The command line and lifecycle shared by the libuv reference servers, so
 * that they take the same options as the iocpnet samples:
 *   --host H (default 0.0.0.0)  --port P (default 9034, 0 = ephemeral)
 *   --threads N and --backend B are accepted for compatibility and ignored:
 *   these servers are one libuv loop on one thread by design.
 * They print "listening on HOST:PORT" once ready and exit 0 on SIGTERM/SIGINT.
 */
#ifndef BENCH_UV_COMMON_H
#define BENCH_UV_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static void uvb_die(const char *what, int err) {
    fprintf(stderr, "%s: %s\n", what, uv_strerror(err));
    exit(1);
}

static void uvb_parse(int argc, char **argv, const char **host, int *port) {
    *host = "0.0.0.0";
    *port = 9034;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) { fprintf(stderr, "missing value for %s\n", a); exit(2); }
        const char *v = argv[++i];
        if (!strcmp(a, "--host")) *host = v;
        else if (!strcmp(a, "--port")) *port = atoi(v);
        else if (!strcmp(a, "--threads") || !strcmp(a, "--backend")) (void)v;
        else { fprintf(stderr, "unknown option %s\n", a); exit(2); }
    }
}

/* Binds, listens and prints the line the benchmark script waits for. */
static void uvb_listen(uv_loop_t *loop, uv_tcp_t *server, const char *host, int port, uv_connection_cb cb) {
    struct sockaddr_in addr;
    int rc = uv_ip4_addr(host, port, &addr);
    if (rc) uvb_die("address", rc);
    uv_tcp_init(loop, server);
    if ((rc = uv_tcp_bind(server, (const struct sockaddr *)&addr, 0))) uvb_die("bind", rc);
    /* A deep backlog: the fan-out benchmark connects 1,000 clients at once. */
    if ((rc = uv_listen((uv_stream_t *)server, 4096, cb))) uvb_die("listen", rc);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    uv_tcp_getsockname(server, (struct sockaddr *)&ss, &len);
    char name[64];
    uv_ip4_name((struct sockaddr_in *)&ss, name, sizeof name);
    printf("listening on %s:%d\n", name, ntohs(((struct sockaddr_in *)&ss)->sin_port));
    fflush(stdout);
}

/* A client handle's data points at the allocation that holds it; the loop's
 * own handles (listener, signals) are static and have data == NULL. */
static void uvb_free_data(uv_handle_t *h) { free(h->data); }

static void uvb_walk_close(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, uvb_free_data);
}

/* Closes everything, lets the pending write callbacks (cancelled) and close
 * callbacks run, and leaves the loop empty. */
static void uvb_shutdown(uv_loop_t *loop) {
    uv_walk(loop, uvb_walk_close, NULL);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
}

/* SIGTERM/SIGINT: stop the loop; main then closes every handle and exits 0. */
static void uvb_on_signal(uv_signal_t *s, int signum) {
    (void)signum;
    uv_stop(s->loop);
}

static void uvb_install_signals(uv_loop_t *loop, uv_signal_t sigs[2]) {
    memset(sigs, 0, 2 * sizeof *sigs); /* data == NULL: not freed at shutdown */
    uv_signal_init(loop, &sigs[0]);
    uv_signal_start(&sigs[0], uvb_on_signal, SIGTERM);
    uv_signal_init(loop, &sigs[1]);
    uv_signal_start(&sigs[1], uvb_on_signal, SIGINT);
}

#endif
