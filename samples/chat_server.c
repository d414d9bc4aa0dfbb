/*
 * chat_server — a line-based chat server for nc or telnet, with rooms and
 * private messages, alone or as one of many servers sharing a Redis.
 *
 *   chat_server [--host 0.0.0.0] [--port 9034] [--threads N]
 *               [--backend auto|io_uring|epoll|iocp] [--idle-timeout SECONDS]
 *               [--max-queue BYTES]   (per-client send queue; default 4 MiB)
 *               [--tls-cert FILE --tls-key FILE]   (serve the chat over TLS)
 *               [--redis HOST:PORT [--node NAME]]   (see chat_bus.h)
 *               [--web-port PORT]     (browsers: the page at /, the chat at /ws; chat_web.h;
 *                                      https and wss with --tls-cert/--tls-key)
 *
 * Protocol (one line = one message, "\n" or "\r\n"). Everyone starts in the
 * room "lobby"; "the room" below is the sender's room.
 *   on connect     you get "* welcome guest-N", the room "* guest-N joined"
 *                  (with --redis: guest-NODE-N, unique across servers)
 *   TEXT           the others in the room get "<nick>: TEXT" (empty lines
 *                  are ignored)
 *   /nick NAME     1-32 of [A-Za-z0-9_-], unique: "* you are now NAME" to you,
 *                  "* OLD is now NAME" to the room; "! ..." if refused (with
 *                  --redis also names starting "guest-", and any change
 *                  while Redis is unreachable)
 *   /join NAME     1-32 of [A-Za-z0-9_-]: "* you are now in NAME" to you,
 *                  "* NICK moved to NAME" to the old room, "* NICK joined"
 *                  to the new one; "! ..." if invalid or already there
 *   /rooms         "* rooms: games (2), lobby (3)": rooms with members, sorted
 *   /msg NICK TEXT NICK gets "<nick> (private): TEXT", you nothing; or
 *                  "! no such nick"
 *   /who           "* online: a, b, c": your room, sorted
 *   /quit          the server closes; the room gets "* NICK left"
 *   /other         "! unknown command"
 * A line over 4096 bytes gets "! line too long" and the sender is
 * disconnected. A client that stops reading is disconnected when its send
 * queue is full; nobody else waits for it. Ctrl-C / SIGTERM tells everyone
 * "* server shutting down", closes them, prints statistics and exits 0.
 * With --redis, rooms, /who, /rooms, /msg and nicks span every server on
 * that Redis (chat_bus.h tells how).
 *
 * Files: this one (options, engine callbacks, delivery), chat_commands.c
 * (the "/" commands), chat_rooms.c (the registry), chat_redis.c and
 * chat_bus.c (--redis).
 *
 * Threads: callbacks run on several engine workers at once (callbacks of one
 * connection never overlap). The registry (chat_rooms.c) is guarded by one
 * mutex; lists of receivers are copied under it and the sends happen after
 * it is released. Two kinds of sends are made under it, because their order
 * must be the registry's: a newcomer's welcome (see on_accept) and, with
 * --redis, the events published to the bus. iocpnet_send never blocks and
 * never runs a callback, so that is safe.
 */
#include "chat_server.h"
#include "chat_web.h"
#include <inttypes.h>

#define SHUTDOWN_WAIT_MS 5000 /* for graceful closes before destroying the port */

iocpnet_port *chat_port;
static unsigned long next_guest; /* guarded by the registry lock, as is: */
static int shutting_down;

int chat_shutting_down_locked(void) { return shutting_down; }

/* ------------------------------------------------------------- sending */

/* A receiver whose queue is full does not read: disconnect it (ABORT,
 * since a graceful close would wait on the same full queue). */
static void drop_slow_receiver(iocpnet_conn conn)
{
    char nick[MAX_NICK + 1] = "?";
    member *m;
    rooms_lock();
    if ((m = rooms_find_conn_locked(conn)) != NULL) strcpy(nick, m->nick);
    rooms_unlock();
    /* only the caller whose close succeeds logs, however many hit the full queue */
    if (iocpnet_close(chat_port, conn, IOCPNET_CLOSE_ABORT) == IOCPNET_OK)
        fprintf(stderr, "chat: disconnected %s: not reading (send queue full)\n", nick);
}

void chat_send_line(iocpnet_conn conn, const char *text, size_t len)
{
    if (iocpnet_send(chat_port, conn, text, len) == IOCPNET_E_WOULD_BLOCK) drop_slow_receiver(conn);
}

void chat_send_text(iocpnet_conn conn, const char *text) { chat_send_line(conn, text, strlen(text)); }

/* One shared copy of the line for every receiver (iocpnet_send_many_ex);
 * its per-receiver results name exactly the receivers whose queue was full,
 * and those are dropped. Each receiver's queue keeps the order of one
 * sender's lines because that sender's callbacks never overlap. */
void chat_broadcast(const iocpnet_conn *ids, size_t n, const char *text, size_t len)
{
    size_t i;
    int *results;
    if (ids == NULL || n == 0) return;
    results = (int *)malloc(n * sizeof *results);
    if (results == NULL) { /* fall back to one send per receiver */
        for (i = 0; i < n; i++) chat_send_line(ids[i], text, len);
        return;
    }
    if (iocpnet_send_many_ex(chat_port, ids, n, text, len, results, NULL) == IOCPNET_OK)
        for (i = 0; i < n; i++)
            if (results[i] == IOCPNET_E_WOULD_BLOCK) drop_slow_receiver(ids[i]);
    free(results);
}

void chat_deliver_room(const char *room, const member *except, const char *line, size_t len)
{
    size_t n = 0;
    iocpnet_conn *ids;
    rooms_lock();
    ids = shutting_down ? NULL : rooms_receivers_locked(room, except, &n);
    rooms_unlock();
    chat_broadcast(ids, n, line, len);
    free(ids);
}

int chat_deliver_nick(const char *nick, const char *line, size_t len)
{
    member *m = NULL;
    iocpnet_conn conn = 0;
    rooms_lock();
    if (rooms_find_nick_locked(nick, &m) == 1 && m->joined) conn = m->conn;
    rooms_unlock();
    if (conn == 0) return -1;
    chat_send_line(conn, line, len);
    return 0;
}

/* Sends "* <a><b>" to the joined members of `room` except `except`. */
void chat_announce(const char *room, const member *except, const char *a, const char *b)
{
    char line[MAX_NICK + MAX_ROOM + 64];
    int len = snprintf(line, sizeof line, "* %s%s", a, b);
    chat_deliver_room(room, except, line, (size_t)len);
}

/* ----------------------------------------------------------- callbacks */

static void IOCPNET_CALL on_accept(void *user, iocpnet_port *port, iocpnet_listener l, iocpnet_conn conn)
{
    member *m = (member *)calloc(1, sizeof *m);
    char line[MAX_NICK + 16];
    int ok;
    (void)user;
    (void)l;
    if (!chat_web_accept(port, conn)) { /* a WebSocket at a path other than /ws */
        free(m);
        return;
    }
    if (m == NULL) {
        iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
        return;
    }
    m->conn = conn;
    strcpy(m->room, LOBBY);
    rooms_lock();
    do { /* a guest-N may already be someone's chosen nick */
        snprintf(m->nick, sizeof m->nick, "guest-%lu", ++next_guest);
        /* across servers: guest-NODE-N, unique by construction (users may
         * not choose guest- names there) */
        ON_BUS(snprintf(m->nick, sizeof m->nick, "guest-%s-%lu", bus_node(), next_guest));
    } while (rooms_find_nick_locked(m->nick, NULL) != 0);
    ok = !shutting_down && rooms_add_locked(m) == 0;
    rooms_unlock();
    if (!ok || iocpnet_conn_set_user(port, conn, m) != IOCPNET_OK) {
        if (ok) {
            rooms_lock();
            rooms_remove_locked(m);
            rooms_unlock();
        }
        free(m);
        iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
        return;
    }
    /* The welcome is sent and the member joins the broadcasts in one step
     * under the lock: a broadcast that includes the newcomer copies its ids
     * after this, so it comes after the welcome; and once the newcomer has
     * its welcome, it gets every later broadcast. iocpnet_send never blocks
     * and never runs a callback, and a first line cannot fill a queue (so no
     * drop_slow_receiver, which takes the lock). */
    snprintf(line, sizeof line, "* welcome %s", m->nick);
    rooms_lock();
    iocpnet_send(port, conn, line, strlen(line));
    m->joined = 1;
    ON_BUS(bus_joined_locked(m->nick, m->room));
    rooms_unlock();
    chat_announce(LOBBY, m, m->nick, " joined"); /* its nick and room are its own until its on_data */
}

static void IOCPNET_CALL on_data(void *user, iocpnet_port *port, iocpnet_conn conn, const uint8_t *data,
                                 size_t len)
{
    member *m = NULL;
    const char *text = (const char *)data;
    char line[MAX_NICK + 2 + MAX_LINE + 1];
    size_t n = 0, out;
    iocpnet_conn *ids;
    (void)user;
#ifdef CHAT_REDIS
    if (bus_on_data(conn, data, len)) return;
#endif
    if (iocpnet_conn_get_user(port, conn, (void **)&m) != IOCPNET_OK || m == NULL || len == 0) return;
    if (text[0] == '/') {
        chat_command(m, text, len);
        return;
    }
    rooms_lock();
    out = (size_t)snprintf(line, sizeof line, "%s: ", m->nick);
    ids = rooms_receivers_locked(m->room, m, &n);
    ON_BUS(bus_said_locked(m->nick, m->room, text, len));
    rooms_unlock();
    if (ids != NULL) { /* the engine delivered at most MAX_LINE bytes: it fits */
        memcpy(line + out, text, len);
        chat_broadcast(ids, n, line, out + len);
    }
    free(ids);
}

static void IOCPNET_CALL on_framing_error(void *user, iocpnet_port *port, iocpnet_conn conn, int err)
{
    (void)user;
    (void)port;
    (void)err;
    /* the engine flushes this, closes, and on_close announces the departure */
    chat_send_text(conn, "! line too long");
}

static void IOCPNET_CALL on_close(void *user, iocpnet_port *port, iocpnet_conn conn, int reason)
{
    member *m = NULL;
    (void)user;
    (void)reason;
#ifdef CHAT_REDIS
    if (bus_on_close(conn, reason)) return;
#endif
    if (iocpnet_conn_get_user(port, conn, (void **)&m) != IOCPNET_OK || m == NULL) return;
    rooms_lock();
    rooms_remove_locked(m);
    ON_BUS(if (m->joined) bus_left_locked(m->nick, m->room));
    ON_BUS(if (strncmp(m->nick, "guest-", 6) != 0) bus_release_nick_locked(m->nick));
    rooms_unlock();
    /* m is out of the table, so no other thread can reach it any more */
    if (m->joined) chat_announce(m->room, NULL, m->nick, " left");
    free(m);
}

#ifdef CHAT_REDIS
static void IOCPNET_CALL on_connect(void *user, iocpnet_port *port, iocpnet_conn conn, int status)
{
    (void)user;
    (void)port;
    bus_on_connect(conn, status); /* only the bus makes outgoing connections */
}
#endif

/* ---------------------------------------------------------------- main */

static void shutdown_everyone(void)
{
    static const char bye[] = "* server shutting down";
    iocpnet_conn *ids;
    size_t n = 0, i, left = 1;
    unsigned waited;
    rooms_lock();
    shutting_down = 1; /* no more welcomes or announcements */
    ids = rooms_all_locked(&n);
    rooms_unlock();
    for (i = 0; i < n; i++) {
        iocpnet_send(chat_port, ids[i], bye, sizeof bye - 1);
        iocpnet_close(chat_port, ids[i], IOCPNET_CLOSE_GRACEFUL);
    }
    free(ids);
    /* graceful closes flush first; one that cannot (a peer that does not
     * read) is cut by iocpnet_port_destroy after the wait */
    for (waited = 0; left > 0 && waited < SHUTDOWN_WAIT_MS; waited += 10) {
        rooms_lock();
        left = rooms_count_locked();
        rooms_unlock();
        if (left > 0) sample_sleep_ms(10);
    }
}

#ifdef CHAT_REDIS
#  define REDIS_USAGE "  --redis HOST:PORT [--node NAME]  share rooms, nicks and messages with every\n" \
                      "      chat_server on that Redis; NAME (1-16 of A-Z a-z 0-9 _ -, unique per\n" \
                      "      server) defaults to n<process id>\n"
#else
#  define REDIS_USAGE "  --redis HOST:PORT [--node NAME]  not in this build (built without hiredis)\n"
#endif

/* Takes --redis and --node out of argv (the shared parser knows neither)
 * and answers --help. Returns 0, 1 after --help, 2 on a bad value. */
static int take_chat_options(int *argc, char **argv, const char **redis, const char **node)
{
    int i, out = 1;
    for (i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: %s [--host ADDR] [--port N] [--threads N] [--backend auto|io_uring|epoll|iocp]\n"
                   "       [--max-queue BYTES] [--idle-timeout SECONDS] [--redis HOST:PORT [--node NAME]]\n"
                   REDIS_USAGE, argv[0]);
            return 1;
        }
        if ((strcmp(argv[i], "--redis") == 0 || strcmp(argv[i], "--node") == 0) && i + 1 < *argc) {
            *(argv[i][2] == 'r' ? redis : node) = argv[i + 1];
            i++;
        } else {
            argv[out++] = argv[i];
        }
    }
    *argc = out;
    if (*node != NULL && (*redis == NULL || !rooms_valid_name(*node, strlen(*node), MAX_NODE))) {
        fprintf(stderr, "--node needs --redis and 1 to 16 of A-Z a-z 0-9 _ -\n");
        return 2;
    }
#ifndef CHAT_REDIS
    if (*redis != NULL) {
        fprintf(stderr, "--redis: this chat_server was built without hiredis\n");
        return 2;
    }
#endif
    return 0;
}

int main(int argc, char **argv)
{
    sample_options opt;
    iocpnet_config cfg;
    iocpnet_conn_options copt;
    iocpnet_callbacks cbs;
    iocpnet_stats st;
    iocpnet_listener listener = 0, web_listener = 0;
    iocpnet_tls *tls = NULL;
    const char *redis = NULL, *node = NULL;
    int rc, web = 0;
    unsigned web_port = 0;

    if (chat_web_take_option(&argc, argv, &web, &web_port) != 0) return 2;
    rc = take_chat_options(&argc, argv, &redis, &node);
    if (rc != 0) return rc == 1 ? 0 : 2;
    if (sample_parse_options(argc, argv, &opt, "0.0.0.0", 1) != 0) {
        fprintf(stderr, "%s", REDIS_USAGE);
        return 2;
    }
    sample_stop_signals_setup();
    rooms_init();
    iocpnet_set_log(IOCPNET_LOG_WARN, sample_log, NULL);

    sample_port_setup(&opt, &cfg, &cbs);
    cfg.idle_timeout_ms = opt.idle_timeout_s * 1000u;
    cbs.on_accept = on_accept;
    cbs.on_data = on_data;
    cbs.on_close = on_close;
    cbs.on_framing_error = on_framing_error;
#ifdef CHAT_REDIS
    cbs.on_connect = on_connect;
    if (redis != NULL && bus_configure(redis, node) != 0) return 2;
#endif
    iocpnet_conn_options_init(&copt);
    copt.framing = IOCPNET_FRAMING_LINE;
    copt.max_message_size = MAX_LINE;
    if (sample_tls(&opt, 1, &tls) != 0) return 1;
    copt.tls = tls; /* NULL: plain TCP */
    if (sample_serve(&opt, &cbs, &cfg, &copt, &chat_port, &listener) != 0) return 1;
    if (web && chat_web_listen(chat_port, opt.host, web_port, MAX_LINE, tls, &web_listener) != 0) {
        iocpnet_port_destroy(chat_port);
        return 1;
    }
    if (tls) iocpnet_tls_release(tls); /* the listener holds its own reference */
#ifdef CHAT_REDIS
    if (redis != NULL && bus_start(chat_port) != 0) {
        iocpnet_port_destroy(chat_port);
        return 1;
    }
#endif

    sample_wait_for_stop();
    iocpnet_unlisten(chat_port, listener);
    if (web) iocpnet_unlisten(chat_port, web_listener);
    shutdown_everyone();
#ifdef CHAT_REDIS
    ON_BUS(bus_stop());
#endif

    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    if (iocpnet_get_stats(chat_port, &st) == IOCPNET_OK)
        printf("statistics: backend %s, connections accepted %" PRIu64 ", closed %" PRIu64 ", open %" PRIu64
               ", bytes received %" PRIu64 ", bytes sent %" PRIu64 "\n",
               sample_backend_name(st.backend), st.connections_accepted, st.connections_closed,
               st.connections_open, st.bytes_received, st.bytes_sent);
    rc = iocpnet_port_destroy(chat_port);
    if (rc != IOCPNET_OK) sample_report("iocpnet_port_destroy", rc);
    rooms_free();
    fflush(stdout);
    return rc == IOCPNET_OK ? 0 : 1;
}
