/*
 * iocpnet's side of the WebSocket interop test (run.py drives it against
 * npm's `ws`):
 *   ws_peer server          echo server on 127.0.0.1, ephemeral port: prints
 *                           "PORT n", echoes every message with its type,
 *                           runs until SIGTERM; max_message_size 20 MiB.
 *   ws_peer client PORT     connects to ws://127.0.0.1:PORT/interop, sends a
 *                           text, a binary and a 16 MiB binary message, checks
 *                           their echoes and one message the server sends by
 *                           itself, then closes; prints what it saw and exits
 *                           0 only if everything matched.
 */
#include "../../samples/sample_common.h"

#define BIG (16u << 20)

static sample_mutex mu;
static int done, failed, echoes, closed_reason = 1;
static unsigned char *big;

static void IOCPNET_CALL srv_data(void *u, iocpnet_port *p, iocpnet_conn c, const uint8_t *d, size_t n)
{
    uint32_t type = 0;
    (void)u;
    iocpnet_ws_message_type(p, c, &type);
    iocpnet_ws_set_send_type(p, c, type);
    if (iocpnet_send(p, c, d, n) != IOCPNET_OK) fprintf(stderr, "echo failed: %s\n", iocpnet_last_error_message());
}

static void IOCPNET_CALL srv_close(void *u, iocpnet_port *p, iocpnet_conn c, int reason)
{
    (void)u, (void)p;
    printf("SERVER-CLOSE %llu %s\n", (unsigned long long)c, iocpnet_err_name(reason));
    fflush(stdout);
}

static int server(void)
{
    iocpnet_callbacks cb;
    iocpnet_config cfg;
    iocpnet_conn_options o;
    iocpnet_port *p = NULL;
    iocpnet_listener l = 0;
    uint16_t port = 0;
    memset(&cb, 0, sizeof cb);
    cb.struct_size = sizeof cb;
    cb.on_data = srv_data;
    cb.on_close = srv_close;
    iocpnet_conn_options_init(&o);
    o.framing = IOCPNET_FRAMING_WEBSOCKET;
    o.max_message_size = 20u << 20;
    sample_stop_signals_setup();
    iocpnet_config_init(&cfg);
    cfg.max_send_queue_bytes = 64u << 20; /* 16 MiB echoes */
    if (iocpnet_port_create(&cfg, &cb, NULL, &p) != IOCPNET_OK || iocpnet_listen_ex(p, "127.0.0.1", 0, &o, &l) != IOCPNET_OK ||
        iocpnet_listener_port(p, l, &port) != IOCPNET_OK) {
        fprintf(stderr, "server setup: %s\n", iocpnet_last_error_message());
        return 1;
    }
    printf("PORT %u\n", (unsigned)port);
    fflush(stdout);
    sample_wait_for_stop();
    iocpnet_port_destroy(p);
    return 0;
}

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "OK" : "FAIL", what);
    fflush(stdout);
    if (!ok) failed = 1;
}

static void IOCPNET_CALL cli_connect(void *u, iocpnet_port *p, iocpnet_conn c, int status)
{
    (void)u;
    check(status == IOCPNET_OK, "connect (101 accepted)");
    if (status != IOCPNET_OK) {
        sample_mutex_lock(&mu);
        done = 1;
        sample_mutex_unlock(&mu);
        return;
    }
    iocpnet_ws_set_send_type(p, c, IOCPNET_WS_TEXT);
    iocpnet_send(p, c, "h\xC3\xA9llo", 6);
    iocpnet_ws_set_send_type(p, c, IOCPNET_WS_BINARY);
    iocpnet_send(p, c, "\0\1\2", 3);
    iocpnet_send(p, c, big, BIG);
}

static void IOCPNET_CALL cli_data(void *u, iocpnet_port *p, iocpnet_conn c, const uint8_t *d, size_t n)
{
    uint32_t type = 0;
    (void)u;
    iocpnet_ws_message_type(p, c, &type);
    if (n == 10 && memcmp(d, "fragmented", 10) == 0) {
        check(type == IOCPNET_WS_TEXT, "server's fragmented text arrived whole");
        return;
    }
    if (n == 6) check(type == IOCPNET_WS_TEXT && memcmp(d, "h\xC3\xA9llo", 6) == 0, "text echo");
    else if (n == 3) check(type == IOCPNET_WS_BINARY && memcmp(d, "\0\1\2", 3) == 0, "binary echo");
    else if (n == BIG) check(type == IOCPNET_WS_BINARY && memcmp(d, big, BIG) == 0, "16 MiB echo");
    else check(0, "an unexpected message");
    if (++echoes == 3) iocpnet_close(p, c, IOCPNET_CLOSE_GRACEFUL);
}

static void IOCPNET_CALL cli_close(void *u, iocpnet_port *p, iocpnet_conn c, int reason)
{
    (void)u, (void)p, (void)c;
    sample_mutex_lock(&mu);
    closed_reason = reason;
    done = 1;
    sample_mutex_unlock(&mu);
}

static int client(unsigned port)
{
    iocpnet_callbacks cb;
    iocpnet_config cfg;
    iocpnet_conn_options o;
    iocpnet_port *p = NULL;
    iocpnet_conn c = 0;
    unsigned i, waited = 0;
    int fin = 0;
    big = (unsigned char *)malloc(BIG);
    if (!big) return 1;
    for (i = 0; i < BIG; i++) big[i] = (unsigned char)(i * 7 + i / 251);
    memset(&cb, 0, sizeof cb);
    cb.struct_size = sizeof cb;
    cb.on_connect = cli_connect;
    cb.on_data = cli_data;
    cb.on_close = cli_close;
    iocpnet_conn_options_init(&o);
    o.framing = IOCPNET_FRAMING_WEBSOCKET;
    o.max_message_size = 20u << 20;
    o.ws_path = "/interop";
    iocpnet_config_init(&cfg);
    cfg.max_send_queue_bytes = 64u << 20;
    if (iocpnet_port_create(&cfg, &cb, NULL, &p) != IOCPNET_OK ||
        iocpnet_connect_ex(p, "127.0.0.1", (uint16_t)port, &o, &c) != IOCPNET_OK) {
        fprintf(stderr, "client setup: %s\n", iocpnet_last_error_message());
        return 1;
    }
    while (!fin && waited < 60000) {
        sample_sleep_ms(10);
        waited += 10;
        sample_mutex_lock(&mu);
        fin = done;
        sample_mutex_unlock(&mu);
    }
    check(fin, "finished within 60 s");
    check(closed_reason == IOCPNET_OK, "closed by this side");
    check(echoes == 3, "three echoes");
    iocpnet_port_destroy(p);
    free(big);
    return failed;
}

int main(int argc, char **argv)
{
    unsigned port = 0;
    sample_mutex_init(&mu);
    if (argc == 2 && strcmp(argv[1], "server") == 0) return server();
    if (argc == 3 && strcmp(argv[1], "client") == 0 && sample_parse_uint(argv[2], 65535, &port) == 0) return client(port);
    fprintf(stderr, "usage: ws_peer server | ws_peer client PORT\n");
    return 2;
}
