/*
 * uv_echo_server — the libuv reference for the echo benchmark: one loop on one
 * thread, the textbook libuv echo. Each read gets a fresh buffer, and that very
 * buffer is handed to uv_write and freed when the write completes, so there is
 * no copy and no buffer shared between reads (libuv's own benchmark echo server
 * works the same way).
 */
#include "uv_common.h"

typedef struct {
    uv_write_t req;
    uv_buf_t buf;
} write_req;

static uv_loop_t *loop;
static uv_tcp_t server;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)h;
    /* libuv suggests 64 KiB: big enough that one read takes a whole 16 KiB message. */
    buf->base = malloc(suggested);
    buf->len = buf->base ? suggested : 0;
}

static void on_write(uv_write_t *req, int status) {
    (void)status; /* a failed write shows up as a read error or EOF, which closes */
    write_req *wr = (write_req *)req;
    free(wr->buf.base);
    free(wr);
}

static void on_client_close(uv_handle_t *h) { free(h); }

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    if (nread > 0) {
        write_req *wr = malloc(sizeof *wr);
        wr->buf = uv_buf_init(buf->base, (unsigned)nread);
        if (uv_write(&wr->req, s, &wr->buf, 1, on_write) == 0) return;
        free(wr);
        free(buf->base);
        uv_close((uv_handle_t *)s, on_client_close);
        return;
    }
    free(buf->base);
    if (nread < 0 && !uv_is_closing((uv_handle_t *)s)) uv_close((uv_handle_t *)s, on_client_close);
}

static void on_connection(uv_stream_t *srv, int status) {
    if (status < 0) return;
    uv_tcp_t *c = malloc(sizeof *c);
    uv_tcp_init(loop, c);
    c->data = c; /* what shutdown's close callback frees */
    if (uv_accept(srv, (uv_stream_t *)c) != 0) { uv_close((uv_handle_t *)c, on_client_close); return; }
    uv_tcp_nodelay(c, 1);
    uv_read_start((uv_stream_t *)c, on_alloc, on_read);
}

int main(int argc, char **argv) {
    const char *host;
    int port;
    uvb_parse(argc, argv, &host, &port);
    loop = uv_default_loop();
    uv_signal_t sigs[2];
    uvb_install_signals(loop, sigs);
    uvb_listen(loop, &server, host, port, on_connection);
    uv_run(loop, UV_RUN_DEFAULT);
    uvb_shutdown(loop);
    return 0;
}
