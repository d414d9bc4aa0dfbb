/*
 * uv_relay_server — the libuv reference for the fan-out benchmark: every byte
 * read from one client is written, unchanged, to every other client.
 *
 * What it does per read is what iocpnet_send_many does: one reference-counted
 * copy of the bytes, shared by the uv_write requests to all receivers and freed
 * by the last write callback. A receiver whose unsent bytes (libuv's
 * write_queue_size) would pass MAX_QUEUE is disconnected, so one client that
 * does not read can neither stall the others nor grow the server without bound.
 * One loop, one thread.
 */
#include "uv_common.h"

#define MAX_QUEUE (4u << 20) /* per client; iocpnet's default max_send_queue_bytes */

typedef struct shared_buf {
    size_t refs;
    size_t len;
    char data[];
} shared_buf;

typedef struct client {
    uv_tcp_t tcp;  /* first, so the handle pointer is the client pointer */
    size_t index;  /* position in clients[] while registered */
    int registered;
} client;

/* Write requests come from a free list: a broadcast to 1,000 clients would
 * otherwise be 1,000 malloc/free pairs per read. */
typedef struct wreq {
    uv_write_t req;
    shared_buf *buf;
    struct wreq *next_free;
} wreq;

static uv_loop_t *loop;
static uv_tcp_t server;
static client **clients;
static size_t nclients, capclients;
static wreq *free_reqs;
static char read_buf[65536];
static unsigned long long dropped;

static void unregister(client *c) {
    if (!c->registered) return;
    c->registered = 0;
    clients[c->index] = clients[--nclients];
    clients[c->index]->index = c->index;
}

static void on_client_close(uv_handle_t *h) { free(h->data); }

static void drop(client *c) {
    unregister(c);
    if (!uv_is_closing((uv_handle_t *)&c->tcp)) uv_close((uv_handle_t *)&c->tcp, on_client_close);
}

static void release(shared_buf *b) {
    if (--b->refs == 0) free(b);
}

static void on_write(uv_write_t *req, int status) {
    (void)status; /* a failed write also fails the read side, which closes */
    wreq *w = (wreq *)req;
    release(w->buf);
    w->next_free = free_reqs;
    free_reqs = w;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)h; (void)suggested;
    /* One static read buffer: the read callback copies out what it keeps, once. */
    *buf = uv_buf_init(read_buf, sizeof read_buf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *rb) {
    client *from = (client *)s;
    if (nread < 0) { drop(from); return; }
    if (nread == 0 || nclients < 2) return;
    shared_buf *b = malloc(sizeof *b + (size_t)nread);
    if (!b) return;
    b->len = (size_t)nread;
    b->refs = 1; /* held by this loop until every write is queued */
    memcpy(b->data, rb->base, (size_t)nread);
    uv_buf_t out = uv_buf_init(b->data, (unsigned)nread);
    for (size_t i = 0; i < nclients;) {
        client *to = clients[i];
        if (to == from) { i++; continue; }
        if (to->tcp.write_queue_size + b->len > MAX_QUEUE) {
            dropped++;
            drop(to); /* swaps the last client into slot i: look at i again */
            continue;
        }
        wreq *w = free_reqs;
        if (w) free_reqs = w->next_free;
        else if (!(w = malloc(sizeof *w))) { i++; continue; }
        w->buf = b;
        b->refs++;
        if (uv_write(&w->req, (uv_stream_t *)&to->tcp, &out, 1, on_write) != 0) {
            b->refs--;
            w->next_free = free_reqs;
            free_reqs = w;
            drop(to);
            continue;
        }
        i++;
    }
    release(b);
}

static void on_connection(uv_stream_t *srv, int status) {
    if (status < 0) return;
    client *c = calloc(1, sizeof *c);
    uv_tcp_init(loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(srv, (uv_stream_t *)&c->tcp) != 0) { uv_close((uv_handle_t *)&c->tcp, on_client_close); return; }
    uv_tcp_nodelay(&c->tcp, 1);
    if (nclients == capclients) {
        capclients = capclients ? capclients * 2 : 1024;
        clients = realloc(clients, capclients * sizeof *clients);
    }
    c->index = nclients;
    clients[nclients++] = c;
    c->registered = 1;
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
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
    nclients = 0; /* closing: nothing more is relayed */
    uvb_shutdown(loop);
    fprintf(stderr, "uv_relay_server: %llu slow clients dropped\n", dropped);
    while (free_reqs) { wreq *w = free_reqs; free_reqs = w->next_free; free(w); }
    free(clients);
    return 0;
}
