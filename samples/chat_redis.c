/*
 * chat_redis — Redis over two iocpnet connections (see chat_redis.h).
 *
 * hiredis does the protocol: redisFormatCommandArgv builds each command,
 * a redisReader per connection turns the bytes on_data hands us into
 * replies. Everything of the connection state, the readers included, is
 * touched only under `lock`; replies are taken out under it and their
 * callbacks run after it is released, so a callback may send the next
 * command.
 */
#include "chat_redis.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
#define CONNECT_TIMEOUT_MS 2000
#define RETIRED 16 /* closed connections whose last callbacks may still come */

enum { DOWN, CONNECTING, UP };

typedef struct pending {
    redis_reply_fn fn;
    void *arg;
} pending;

static struct {
    sample_mutex lock;
    iocpnet_port *port;
    char host[256];
    uint16_t tcp_port;
    char channel[64];
    redis_handlers h;
    int state, stopped, cmd_ready;
    iocpnet_conn cmd, sub;
    redisReader *cmd_reader, *sub_reader;
    pending *queue; /* ring of callbacks waiting for their replies, oldest at head */
    size_t head, count, cap;
    uint64_t next_attempt_ms, backoff_ms;
    iocpnet_conn retired[RETIRED];
    size_t next_retired;
} rc;

int redis_setup(iocpnet_port *port, const char *host, uint16_t tcp_port, const char *channel,
                const redis_handlers *h)
{
    sample_mutex_init(&rc.lock);
    rc.port = port;
    snprintf(rc.host, sizeof rc.host, "%s", host);
    snprintf(rc.channel, sizeof rc.channel, "%s", channel);
    rc.tcp_port = tcp_port;
    rc.h = *h;
    rc.state = DOWN;
    rc.backoff_ms = BACKOFF_MIN_MS;
    rc.cap = 64;
    rc.queue = (pending *)malloc(rc.cap * sizeof *rc.queue);
    return rc.queue != NULL ? 0 : -1;
}

int redis_is_up(void)
{
    int up;
    sample_mutex_lock(&rc.lock);
    up = rc.state == UP;
    sample_mutex_unlock(&rc.lock);
    return up;
}

static int push_pending(redis_reply_fn fn, void *arg)
{
    if (rc.count == rc.cap) { /* grow the ring, unrolling it */
        size_t i, ncap = rc.cap * 2;
        pending *q = (pending *)malloc(ncap * sizeof *q);
        if (q == NULL) return -1;
        for (i = 0; i < rc.count; i++) q[i] = rc.queue[(rc.head + i) % rc.cap];
        free(rc.queue);
        rc.queue = q;
        rc.head = 0;
        rc.cap = ncap;
    }
    rc.queue[(rc.head + rc.count++) % rc.cap].fn = fn;
    rc.queue[(rc.head + rc.count - 1) % rc.cap].arg = arg;
    return 0;
}

static pending pop_pending(void)
{
    pending p = {NULL, NULL};
    if (rc.count > 0) {
        p = rc.queue[rc.head];
        rc.head = (rc.head + 1) % rc.cap;
        rc.count--;
    }
    return p;
}

int redis_command(int argc, const char **argv, const size_t *lens, redis_reply_fn fn, void *arg)
{
    char *cmd = NULL;
    int len, ok = 0;
    len = redisFormatCommandArgv(&cmd, argc, argv, lens);
    if (len < 0) return -1;
    sample_mutex_lock(&rc.lock);
    /* the send and the callback's place in the queue happen together, so
     * replies (which come in command order) find their callbacks */
    if (rc.state == UP && push_pending(fn, arg) == 0) {
        if (iocpnet_send(rc.port, rc.cmd, cmd, (size_t)len) == IOCPNET_OK) ok = 1;
        else rc.count--; /* not sent: take the callback back out */
    }
    sample_mutex_unlock(&rc.lock);
    redisFreeCommand(cmd);
    return ok ? 0 : -1;
}

static void retire(iocpnet_conn conn)
{
    if (conn == 0) return;
    rc.retired[rc.next_retired++ % RETIRED] = conn;
    iocpnet_close(rc.port, conn, IOCPNET_CLOSE_ABORT);
}

static int is_retired(iocpnet_conn conn)
{
    size_t i;
    for (i = 0; i < RETIRED; i++)
        if (rc.retired[i] == conn) return 1;
    return 0;
}

/* Both connections go; pending callbacks get NULL; reconnect after the
 * backoff. Called without the lock. */
static void fail(const char *why)
{
    pending *lost = NULL;
    size_t n = 0, i;
    int was_up, stopped;
    sample_mutex_lock(&rc.lock);
    if (rc.state == DOWN) {
        sample_mutex_unlock(&rc.lock);
        return;
    }
    was_up = rc.state == UP;
    retire(rc.cmd);
    retire(rc.sub);
    rc.cmd = rc.sub = 0;
    redisReaderFree(rc.cmd_reader);
    redisReaderFree(rc.sub_reader);
    rc.cmd_reader = rc.sub_reader = NULL;
    rc.state = DOWN;
    lost = (pending *)malloc((rc.count + 1) * sizeof *lost);
    while (rc.count > 0) {
        pending p = pop_pending();
        if (lost != NULL) lost[n++] = p;
    }
    rc.next_attempt_ms = 0; /* set by the next tick: now + backoff */
    stopped = rc.stopped;
    sample_mutex_unlock(&rc.lock);
    if (!stopped) fprintf(stderr, "chat: redis %s: %s\n", was_up ? "lost" : "not reachable", why);
    for (i = 0; i < n; i++)
        if (lost[i].fn != NULL) lost[i].fn(lost[i].arg, NULL);
    free(lost);
    if (was_up && !stopped && rc.h.on_down != NULL) rc.h.on_down();
}

void redis_tick(uint64_t now_ms)
{
    iocpnet_conn_options copt;
    int r1, r2;
    sample_mutex_lock(&rc.lock);
    if (rc.state != DOWN || rc.stopped) {
        sample_mutex_unlock(&rc.lock);
        return;
    }
    if (rc.next_attempt_ms == 0) { /* just failed: wait, doubling the wait each time */
        rc.next_attempt_ms = now_ms + rc.backoff_ms;
        rc.backoff_ms = rc.backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : rc.backoff_ms * 2;
    }
    if (now_ms < rc.next_attempt_ms) {
        sample_mutex_unlock(&rc.lock);
        return;
    }
    iocpnet_conn_options_init(&copt);
    copt.framing = IOCPNET_FRAMING_RAW;
    copt.idle_timeout_ms = 0; /* a quiet Redis is fine; --idle-timeout is for chat clients */
    copt.connect_timeout_ms = CONNECT_TIMEOUT_MS;
    rc.cmd_reader = redisReaderCreate();
    rc.sub_reader = redisReaderCreate();
    rc.cmd_ready = 0;
    rc.state = CONNECTING;
    rc.next_attempt_ms = 0;
    /* on_connect runs on a worker and takes the lock, so it sees the ids */
    r1 = iocpnet_connect_ex(rc.port, rc.host, rc.tcp_port, &copt, &rc.cmd);
    r2 = iocpnet_connect_ex(rc.port, rc.host, rc.tcp_port, &copt, &rc.sub);
    sample_mutex_unlock(&rc.lock);
    if (r1 != IOCPNET_OK || r2 != IOCPNET_OK || rc.cmd_reader == NULL || rc.sub_reader == NULL)
        fail(iocpnet_strerror(r1 != IOCPNET_OK ? r1 : r2));
}

/* Called with the lock held: UP once the command connection is open and the
 * subscription confirmed. Returns 1 when this call made it UP. */
static int maybe_up(void)
{
    if (rc.state != CONNECTING || !rc.cmd_ready) return 0;
    rc.state = UP;
    rc.backoff_ms = BACKOFF_MIN_MS;
    return 1;
}

int redis_on_connect(iocpnet_conn conn, int status)
{
    int ours, up = 0;
    sample_mutex_lock(&rc.lock);
    ours = conn == rc.cmd || conn == rc.sub;
    if (!ours) {
        ours = is_retired(conn);
        sample_mutex_unlock(&rc.lock);
        return ours;
    }
    if (status == IOCPNET_OK && conn == rc.sub) {
        const char *argv[2] = {"SUBSCRIBE", rc.channel};
        size_t lens[2] = {9, strlen(rc.channel)};
        char *cmd = NULL;
        int len = redisFormatCommandArgv(&cmd, 2, argv, lens);
        if (len > 0) iocpnet_send(rc.port, conn, cmd, (size_t)len);
        redisFreeCommand(cmd);
    } else if (status == IOCPNET_OK) {
        rc.cmd_ready = 1;
        up = maybe_up(); /* when the subscription was confirmed first */
    }
    sample_mutex_unlock(&rc.lock);
    if (status != IOCPNET_OK) fail(iocpnet_strerror(status));
    if (up) {
        fprintf(stderr, "chat: redis up\n");
        if (rc.h.on_up != NULL) rc.h.on_up();
    }
    return 1;
}

int redis_on_close(iocpnet_conn conn, int reason)
{
    int ours;
    sample_mutex_lock(&rc.lock);
    ours = conn == rc.cmd || conn == rc.sub;
    if (!ours) ours = is_retired(conn) ? 2 : 0;
    sample_mutex_unlock(&rc.lock);
    if (ours == 1) fail(reason == IOCPNET_E_PEER_CLOSED ? "closed by redis" : iocpnet_strerror(reason));
    return ours != 0;
}

/* A reply on the subscription: ["subscribe", channel, n] or
 * ["message", channel, payload]. */
static int is_array_of(const redisReply *r, const char *kind)
{
    return r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[0]->type == REDIS_REPLY_STRING &&
           strcmp(r->element[0]->str, kind) == 0;
}

#define MAX_BATCH 64 /* replies taken out per pass under the lock */

int redis_on_data(iocpnet_conn conn, const uint8_t *data, size_t len)
{
    redisReply *replies[MAX_BATCH];
    pending calls[MAX_BATCH];
    size_t n, i;
    int is_sub, broken = 0, became_up = 0, first = 1;
    for (;;) {
        redisReader *reader;
        n = 0;
        sample_mutex_lock(&rc.lock);
        if (conn != rc.cmd && conn != rc.sub) {
            int ours = is_retired(conn);
            sample_mutex_unlock(&rc.lock);
            return ours;
        }
        is_sub = conn == rc.sub;
        reader = is_sub ? rc.sub_reader : rc.cmd_reader;
        if (first && redisReaderFeed(reader, (const char *)data, len) != REDIS_OK) broken = 1;
        first = 0;
        while (!broken && n < MAX_BATCH) {
            void *r = NULL;
            if (redisReaderGetReply(reader, &r) != REDIS_OK) broken = 1;
            if (r == NULL) break;
            replies[n] = (redisReply *)r;
            if (is_sub) {
                if (is_array_of(replies[n], "subscribe") && maybe_up()) became_up = 1;
            } else {
                calls[n] = pop_pending();
            }
            n++;
        }
        sample_mutex_unlock(&rc.lock);
        if (became_up) {
            fprintf(stderr, "chat: redis up\n");
            if (rc.h.on_up != NULL) rc.h.on_up();
            became_up = 0;
        }
        for (i = 0; i < n; i++) {
            if (is_sub && is_array_of(replies[i], "message") && replies[i]->element[2]->type == REDIS_REPLY_STRING)
                rc.h.on_message(replies[i]->element[2]->str, replies[i]->element[2]->len);
            else if (!is_sub && calls[i].fn != NULL)
                calls[i].fn(calls[i].arg, replies[i]);
            freeReplyObject(replies[i]);
        }
        if (broken) {
            fail("protocol error");
            return 1;
        }
        if (n < MAX_BATCH) return 1;
    }
}

void redis_shutdown(void)
{
    sample_mutex_lock(&rc.lock);
    rc.stopped = 1;
    if (rc.cmd) iocpnet_close(rc.port, rc.cmd, IOCPNET_CLOSE_GRACEFUL);
    if (rc.sub) iocpnet_close(rc.port, rc.sub, IOCPNET_CLOSE_GRACEFUL);
    sample_mutex_unlock(&rc.lock);
}
