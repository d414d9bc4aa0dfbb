/*
 * chat_server — a line-based chat server for nc or telnet.
 *
 *   chat_server [--host 0.0.0.0] [--port 9034] [--threads N]
 *               [--backend auto|io_uring|epoll|iocp] [--idle-timeout SECONDS]
 *               [--max-queue BYTES]   (per-client send queue; default 4 MiB)
 *               [--tls-cert FILE --tls-key FILE]   (serve the chat over TLS)
 *
 * Protocol (one line = one message, "\n" or "\r\n"):
 *   on connect     you get "* welcome guest-N", the others "* guest-N joined"
 *   TEXT           the others get "<nick>: TEXT" (empty lines are ignored)
 *   /nick NAME     1-32 of [A-Za-z0-9_-], unique: "* you are now NAME" to you,
 *                  "* OLD is now NAME" to the others; "! ..." if refused
 *   /who           "* online: a, b, c" (sorted)
 *   /quit          the server closes; the others get "* NICK left"
 *   /other         "! unknown command"
 * A line over 4096 bytes gets "! line too long" and the sender is
 * disconnected. A client that stops reading is disconnected when its send
 * queue is full; nobody else waits for it. Ctrl-C / SIGTERM tells everyone
 * "* server shutting down", closes them, prints statistics and exits 0.
 *
 * Threads: callbacks run on several engine workers at once (callbacks of one
 * connection never overlap). The member table is guarded by one mutex, and
 * (but for the welcome, see on_accept) no iocpnet function is called while
 * it is held: lists of receivers are copied under the lock and the sends
 * happen after it is released.
 */
#include "sample_common.h"
#include <inttypes.h>

#define MAX_LINE 4096 /* longest line a client may send, without its "\n" */
#define MAX_NICK 32
#define SHUTDOWN_WAIT_MS 5000 /* for graceful closes before destroying the port */

typedef struct member {
    iocpnet_conn conn;
    size_t index;             /* position in chat.members */
    int joined;               /* set once its welcome is sent: receives broadcasts */
    char nick[MAX_NICK + 1];
} member;

static struct chat {
    iocpnet_port *port;
    sample_mutex lock; /* guards the fields below and every member's nick */
    member **members;
    size_t count, cap;
    unsigned long next_guest;
    int shutting_down;
} chat;

/* ------------------------------------------- member table (lock held) */

static member *find_nick_locked(const char *nick)
{
    size_t i;
    for (i = 0; i < chat.count; i++)
        if (strcmp(chat.members[i]->nick, nick) == 0) return chat.members[i];
    return NULL;
}

static int add_member_locked(member *m)
{
    if (chat.count == chat.cap) {
        size_t cap = chat.cap ? chat.cap * 2 : 16;
        member **nm = (member **)realloc(chat.members, cap * sizeof *nm);
        if (nm == NULL) return -1;
        chat.members = nm;
        chat.cap = cap;
    }
    m->index = chat.count;
    chat.members[chat.count++] = m;
    return 0;
}

static void remove_member_locked(member *m)
{
    member *last = chat.members[--chat.count];
    chat.members[m->index] = last; /* swap-remove keeps it O(1) */
    last->index = m->index;
}

/* Ids of the joined members other than `except` (NULL: everyone), for
 * sending after the lock is released. Caller frees; NULL when none. */
static iocpnet_conn *receivers_locked(const member *except, size_t *n)
{
    iocpnet_conn *ids = (iocpnet_conn *)malloc((chat.count + 1) * sizeof *ids);
    size_t i;
    *n = 0;
    if (ids == NULL) return NULL;
    for (i = 0; i < chat.count; i++)
        if (chat.members[i] != except && chat.members[i]->joined) ids[(*n)++] = chat.members[i]->conn;
    return ids;
}

/* ------------------------------------------------------------- sending */

/* A receiver whose queue is full does not read: disconnect it (ABORT,
 * since a graceful close would wait on the same full queue). */
static void drop_slow_receiver(iocpnet_conn conn)
{
    char nick[MAX_NICK + 1] = "?";
    size_t i;
    sample_mutex_lock(&chat.lock);
    for (i = 0; i < chat.count; i++)
        if (chat.members[i]->conn == conn) strcpy(nick, chat.members[i]->nick);
    sample_mutex_unlock(&chat.lock);
    /* only the caller whose close succeeds logs, however many hit the full queue */
    if (iocpnet_close(chat.port, conn, IOCPNET_CLOSE_ABORT) == IOCPNET_OK)
        fprintf(stderr, "chat: disconnected %s: not reading (send queue full)\n", nick);
}

static void send_line(iocpnet_conn conn, const char *text, size_t len)
{
    if (iocpnet_send(chat.port, conn, text, len) == IOCPNET_E_WOULD_BLOCK) drop_slow_receiver(conn);
}

static void send_text(iocpnet_conn conn, const char *text) { send_line(conn, text, strlen(text)); }

/* One shared copy of the line for every receiver (iocpnet_send_many_ex);
 * its per-receiver results name exactly the receivers whose queue was full,
 * and those are dropped. Each receiver's queue keeps the order of one
 * sender's lines because that sender's callbacks never overlap. */
static void broadcast(const iocpnet_conn *ids, size_t n, const char *text, size_t len)
{
    size_t i;
    int *results = (int *)malloc(n * sizeof *results);
    if (results == NULL) { /* fall back to one send per receiver */
        for (i = 0; i < n; i++) send_line(ids[i], text, len);
        return;
    }
    if (iocpnet_send_many_ex(chat.port, ids, n, text, len, results, NULL) == IOCPNET_OK)
        for (i = 0; i < n; i++)
            if (results[i] == IOCPNET_E_WOULD_BLOCK) drop_slow_receiver(ids[i]);
    free(results);
}

/* Sends "* <a><b>" to everyone joined except `except` (NULL: everyone). */
static void announce(const member *except, const char *a, const char *b)
{
    char line[MAX_LINE + 1];
    size_t n = 0;
    iocpnet_conn *ids;
    snprintf(line, sizeof line, "* %s%s", a, b);
    sample_mutex_lock(&chat.lock);
    ids = chat.shutting_down ? NULL : receivers_locked(except, &n);
    sample_mutex_unlock(&chat.lock);
    if (ids != NULL) broadcast(ids, n, line, strlen(line));
    free(ids);
}

/* ------------------------------------------------------------ commands */

static int valid_nick(const char *s, size_t len)
{
    size_t i;
    if (len < 1 || len > MAX_NICK) return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static void cmd_nick(member *m, const char *arg, size_t len)
{
    char name[MAX_NICK + 1], old[MAX_NICK + 1], line[2 * MAX_NICK + 32];
    const char *error = NULL;
    if (!valid_nick(arg, len)) {
        send_text(m->conn, "! invalid nick: use 1 to 32 of A-Z a-z 0-9 _ -");
        return;
    }
    memcpy(name, arg, len);
    name[len] = '\0';
    sample_mutex_lock(&chat.lock);
    if (strcmp(m->nick, name) == 0) error = "! that is already your nick";
    else if (find_nick_locked(name) != NULL) error = "! that nick is taken";
    else {
        strcpy(old, m->nick);
        strcpy(m->nick, name);
    }
    sample_mutex_unlock(&chat.lock);
    if (error != NULL) {
        send_text(m->conn, error);
        return;
    }
    /* the others first: once the sender reads its confirmation, everyone
     * else has the news queued */
    snprintf(line, sizeof line, "%s is now ", old);
    announce(m, line, name);
    snprintf(line, sizeof line, "* you are now %s", name);
    send_text(m->conn, line);
}

static int compare_nicks(const void *a, const void *b) { return strcmp((const char *)a, (const char *)b); }

static void cmd_who(member *m)
{
    static const char head[] = "* online: ";
    char(*nicks)[MAX_NICK + 1];
    char *line;
    size_t n = 0, i, len = sizeof head - 1;
    sample_mutex_lock(&chat.lock);
    nicks = (char(*)[MAX_NICK + 1])malloc((chat.count + 1) * sizeof *nicks);
    for (i = 0; nicks != NULL && i < chat.count; i++)
        if (chat.members[i]->joined) strcpy(nicks[n++], chat.members[i]->nick);
    sample_mutex_unlock(&chat.lock);
    if (nicks == NULL) return;
    qsort(nicks, n, sizeof *nicks, compare_nicks);
    /* every nick, however many: the engine's limit is on what peers send us */
    line = (char *)malloc(len + n * (MAX_NICK + 2) + 1);
    if (line != NULL) {
        memcpy(line, head, len);
        for (i = 0; i < n; i++) {
            size_t nl = strlen(nicks[i]);
            if (i > 0) {
                memcpy(line + len, ", ", 2);
                len += 2;
            }
            memcpy(line + len, nicks[i], nl);
            len += nl;
        }
        send_line(m->conn, line, len);
        free(line);
    }
    free(nicks);
}

static void handle_command(member *m, const char *s, size_t len)
{
    size_t cmd_len = 0, arg = 0, end = len;
    while (cmd_len < len && s[cmd_len] != ' ') cmd_len++;
    arg = cmd_len;
    while (arg < end && s[arg] == ' ') arg++;
    while (end > arg && (s[end - 1] == ' ' || s[end - 1] == '\t')) end--;
    if (cmd_len == 5 && memcmp(s, "/nick", 5) == 0) cmd_nick(m, s + arg, end - arg);
    else if (cmd_len == 4 && memcmp(s, "/who", 4) == 0) cmd_who(m);
    else if (cmd_len == 5 && memcmp(s, "/quit", 5) == 0) iocpnet_close(chat.port, m->conn, IOCPNET_CLOSE_GRACEFUL);
    else send_text(m->conn, "! unknown command");
}

/* ----------------------------------------------------------- callbacks */

static void IOCPNET_CALL on_accept(void *user, iocpnet_port *port, iocpnet_listener l, iocpnet_conn conn)
{
    member *m = (member *)calloc(1, sizeof *m);
    char line[MAX_NICK + 16];
    int ok;
    (void)user;
    (void)l;
    if (m == NULL) {
        iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
        return;
    }
    m->conn = conn;
    sample_mutex_lock(&chat.lock);
    do /* a guest-N may already be someone's chosen nick */
        snprintf(m->nick, sizeof m->nick, "guest-%lu", ++chat.next_guest);
    while (find_nick_locked(m->nick) != NULL);
    ok = !chat.shutting_down && add_member_locked(m) == 0;
    sample_mutex_unlock(&chat.lock);
    if (!ok || iocpnet_conn_set_user(port, conn, m) != IOCPNET_OK) {
        if (ok) {
            sample_mutex_lock(&chat.lock);
            remove_member_locked(m);
            sample_mutex_unlock(&chat.lock);
        }
        free(m);
        iocpnet_close(port, conn, IOCPNET_CLOSE_ABORT);
        return;
    }
    /* The welcome is sent and the member joins the broadcasts in one step
     * under the lock: a broadcast that includes the newcomer copies its ids
     * after this, so it comes after the welcome; and once the newcomer has
     * its welcome, it gets every later broadcast. This is the one iocpnet
     * call made with the lock held: iocpnet_send never blocks and never runs
     * a callback, and a first line cannot fill a queue (so no
     * drop_slow_receiver, which takes the lock). */
    snprintf(line, sizeof line, "* welcome %s", m->nick);
    sample_mutex_lock(&chat.lock);
    iocpnet_send(port, conn, line, strlen(line));
    m->joined = 1;
    sample_mutex_unlock(&chat.lock);
    announce(m, m->nick, " joined"); /* its nick is its own until its on_data */
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
    if (iocpnet_conn_get_user(port, conn, (void **)&m) != IOCPNET_OK || m == NULL || len == 0) return;
    if (text[0] == '/') {
        handle_command(m, text, len);
        return;
    }
    sample_mutex_lock(&chat.lock);
    out = (size_t)snprintf(line, sizeof line, "%s: ", m->nick);
    ids = receivers_locked(m, &n);
    sample_mutex_unlock(&chat.lock);
    if (ids != NULL) { /* the engine delivered at most MAX_LINE bytes: it fits */
        memcpy(line + out, text, len);
        broadcast(ids, n, line, out + len);
    }
    free(ids);
}

static void IOCPNET_CALL on_framing_error(void *user, iocpnet_port *port, iocpnet_conn conn, int err)
{
    (void)user;
    (void)port;
    (void)err;
    /* the engine flushes this, closes, and on_close announces the departure */
    send_text(conn, "! line too long");
}

static void IOCPNET_CALL on_close(void *user, iocpnet_port *port, iocpnet_conn conn, int reason)
{
    member *m = NULL;
    (void)user;
    (void)reason;
    if (iocpnet_conn_get_user(port, conn, (void **)&m) != IOCPNET_OK || m == NULL) return;
    sample_mutex_lock(&chat.lock);
    remove_member_locked(m);
    sample_mutex_unlock(&chat.lock);
    /* m is out of the table, so no other thread can reach it any more */
    if (m->joined) announce(NULL, m->nick, " left");
    free(m);
}

/* ---------------------------------------------------------------- main */

static void shutdown_everyone(void)
{
    static const char bye[] = "* server shutting down";
    iocpnet_conn *ids;
    size_t n = 0, i, left = 1;
    unsigned waited;
    sample_mutex_lock(&chat.lock);
    chat.shutting_down = 1; /* no more welcomes or announcements */
    ids = (iocpnet_conn *)malloc((chat.count + 1) * sizeof *ids);
    for (i = 0; ids != NULL && i < chat.count; i++) ids[n++] = chat.members[i]->conn;
    sample_mutex_unlock(&chat.lock);
    for (i = 0; i < n; i++) {
        iocpnet_send(chat.port, ids[i], bye, sizeof bye - 1);
        iocpnet_close(chat.port, ids[i], IOCPNET_CLOSE_GRACEFUL);
    }
    free(ids);
    /* graceful closes flush first; one that cannot (a peer that does not
     * read) is cut by iocpnet_port_destroy after the wait */
    for (waited = 0; left > 0 && waited < SHUTDOWN_WAIT_MS; waited += 10) {
        sample_mutex_lock(&chat.lock);
        left = chat.count;
        sample_mutex_unlock(&chat.lock);
        if (left > 0) sample_sleep_ms(10);
    }
}

int main(int argc, char **argv)
{
    sample_options opt;
    iocpnet_config cfg;
    iocpnet_conn_options copt;
    iocpnet_callbacks cbs;
    iocpnet_stats st;
    iocpnet_listener listener = 0;
    iocpnet_tls *tls = NULL;
    int rc;

    if (sample_parse_options(argc, argv, &opt, "0.0.0.0", 1) != 0) return 2;
    sample_stop_signals_setup();
    sample_mutex_init(&chat.lock);
    iocpnet_set_log(IOCPNET_LOG_WARN, sample_log, NULL);

    iocpnet_config_init(&cfg);
    cfg.worker_threads = opt.threads;
    cfg.backend = opt.backend;
    cfg.max_send_queue_bytes = opt.max_queue;
    cfg.idle_timeout_ms = opt.idle_timeout_s * 1000u;
    memset(&cbs, 0, sizeof cbs);
    cbs.struct_size = sizeof cbs;
    cbs.on_accept = on_accept;
    cbs.on_data = on_data;
    cbs.on_close = on_close;
    cbs.on_framing_error = on_framing_error;
    iocpnet_conn_options_init(&copt);
    copt.framing = IOCPNET_FRAMING_LINE;
    copt.max_message_size = MAX_LINE;
    if (sample_tls(&opt, 1, &tls) != 0) return 1;
    copt.tls = tls; /* NULL: plain TCP */
    if (sample_serve(&opt, &cbs, &cfg, &copt, &chat.port, &listener) != 0) return 1;
    if (tls) iocpnet_tls_release(tls); /* the listener holds its own reference */

    sample_wait_for_stop();
    iocpnet_unlisten(chat.port, listener);
    shutdown_everyone();

    memset(&st, 0, sizeof st);
    st.struct_size = sizeof st;
    if (iocpnet_get_stats(chat.port, &st) == IOCPNET_OK)
        printf("statistics: backend %s, connections accepted %" PRIu64 ", closed %" PRIu64 ", open %" PRIu64
               ", bytes received %" PRIu64 ", bytes sent %" PRIu64 "\n",
               sample_backend_name(st.backend), st.connections_accepted, st.connections_closed,
               st.connections_open, st.bytes_received, st.bytes_sent);
    rc = iocpnet_port_destroy(chat.port);
    if (rc != IOCPNET_OK) sample_report("iocpnet_port_destroy", rc);
    free(chat.members);
    fflush(stdout);
    return rc == IOCPNET_OK ? 0 : 1;
}
