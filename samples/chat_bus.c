/*
 * chat_bus — the chat's events over Redis pub/sub, presence by heartbeat,
 * nicks claimed with expiring keys (the design is in chat_bus.h).
 *
 * The periodic work runs on an engine timer (iocpnet_timer_start) every
 * TICK_MS: reconnecting when Redis is down, heartbeats and nick refreshes
 * every HEARTBEAT_MS, and forgetting servers silent for NODE_TTL_MS.
 */
#include "chat_bus.h"
#include "chat_redis.h"
#include "chat_server.h"
#include <time.h>
#include <unistd.h>

#define CHANNEL "chat:events"
#define TICK_MS 250
#define HEARTBEAT_MS 2000
#define NODE_TTL_MS 6000 /* three heartbeats missed: the server is gone */
#define NICK_TTL_S "7"   /* seconds; refreshed every HEARTBEAT_MS */

/* Extends chat:nick:N if it is still ours, takes it back if it lapsed
 * (Redis restarted, or an outage outlasted the expiry); 0 when another
 * server holds it now. */
static const char refresh_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('EXPIRE', KEYS[1], ARGV[2]) end "
    "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end return 0";
/* Deletes chat:nick:N only if it is ours. */
static const char release_script[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";

static struct {
    int enabled;
    char host[256];
    uint16_t port;
    char node[MAX_NODE + 1];
    iocpnet_timer timer;
    uint64_t next_heartbeat_ms;
} bus;

int bus_enabled(void) { return bus.enabled; }
const char *bus_node(void) { return bus.node; }

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int bus_configure(const char *hostport, const char *node)
{
    const char *colon = strrchr(hostport, ':');
    unsigned port = 0;
    size_t hl = colon ? (size_t)(colon - hostport) : 0;
    if (colon == NULL || hl == 0 || hl >= sizeof bus.host || sample_parse_uint(colon + 1, 65535, &port) != 0 ||
        port == 0) {
        fprintf(stderr, "--redis: expected HOST:PORT, got %s\n", hostport);
        return -1;
    }
    memcpy(bus.host, hostport, hl);
    bus.host[hl] = '\0';
    bus.port = (uint16_t)port;
    if (node != NULL) snprintf(bus.node, sizeof bus.node, "%s", node);
    else snprintf(bus.node, sizeof bus.node, "n%ld", (long)getpid());
    bus.enabled = 1;
    return 0;
}

/* ------------------------------------------------------------ sending */

/* PUBLISH chat:events "NODE\tTYPE\ta\tb...\ttext": parts joined by tabs. */
static void publish(char type, const char *const *parts, size_t nparts, const char *text, size_t text_len)
{
    char stack[512], *msg = stack;
    size_t need = strlen(bus.node) + 3 + text_len + 1, i, len;
    const char *argv[3] = {"PUBLISH", CHANNEL, NULL};
    size_t lens[3] = {7, sizeof CHANNEL - 1, 0};
    for (i = 0; i < nparts; i++) need += strlen(parts[i]) + 1;
    if (need > sizeof stack && (msg = (char *)malloc(need)) == NULL) return;
    len = (size_t)sprintf(msg, "%s\t%c", bus.node, type);
    for (i = 0; i < nparts; i++) len += (size_t)sprintf(msg + len, "\t%s", parts[i]);
    if (text != NULL) {
        msg[len++] = '\t';
        memcpy(msg + len, text, text_len);
        len += text_len;
    }
    argv[2] = msg;
    lens[2] = len;
    redis_command(3, argv, lens, NULL, NULL); /* Redis down: lost, as the README says */
    if (msg != stack) free(msg);
}

void bus_joined_locked(const char *nick, const char *room)
{
    const char *p[2] = {nick, room};
    publish('J', p, 2, NULL, 0);
}

void bus_moved_locked(const char *nick, const char *old_room, const char *new_room)
{
    const char *p[3] = {nick, old_room, new_room};
    publish('V', p, 3, NULL, 0);
}

void bus_left_locked(const char *nick, const char *room)
{
    const char *p[2] = {nick, room};
    publish('L', p, 2, NULL, 0);
}

void bus_renamed_locked(const char *old_nick, const char *new_nick, const char *room)
{
    const char *p[3] = {old_nick, new_nick, room};
    publish('N', p, 3, NULL, 0);
}

void bus_said_locked(const char *nick, const char *room, const char *text, size_t len)
{
    const char *p[2] = {nick, room};
    publish('M', p, 2, text, len);
}

void bus_private_locked(const char *to, const char *from, const char *text, size_t len)
{
    const char *p[2] = {to, from};
    publish('P', p, 2, text, len);
}

static void heartbeat_locked(void)
{
    size_t len = 0;
    char *list = rooms_snapshot_locked(&len);
    if (list != NULL) publish('H', NULL, 0, list, len);
    free(list);
}

/* -------------------------------------------------------------- nicks */

static void nick_command(const char *script, const char *nick, redis_reply_fn fn, void *arg)
{
    char key[MAX_NICK + 16];
    const char *argv[6] = {"EVAL", script, "1", key, bus.node, NICK_TTL_S};
    size_t lens[6];
    int i;
    snprintf(key, sizeof key, "chat:nick:%s", nick);
    for (i = 0; i < 6; i++) lens[i] = strlen(argv[i]);
    if (redis_command(6, argv, lens, fn, arg) != 0) free(arg); /* not sent: fn will not run */
}

typedef struct claim {
    iocpnet_conn conn;
    char nick[MAX_NICK + 1];
} claim;

static void on_claim_reply(void *arg, redisReply *r)
{
    claim *c = (claim *)arg;
    int result = r == NULL ? -1 : r->type == REDIS_REPLY_STATUS ? 1 : 0; /* "OK", or nil: taken */
    chat_nick_claimed(c->conn, c->nick, result);
    free(c);
}

int bus_claim_nick(iocpnet_conn conn, const char *nick)
{
    char key[MAX_NICK + 16];
    const char *argv[7] = {"SET", key, bus.node, "NX", "EX", NICK_TTL_S, NULL};
    size_t lens[6];
    int i;
    claim *c = (claim *)malloc(sizeof *c);
    if (c == NULL) return -1;
    c->conn = conn;
    snprintf(c->nick, sizeof c->nick, "%s", nick);
    snprintf(key, sizeof key, "chat:nick:%s", nick);
    for (i = 0; i < 6; i++) lens[i] = strlen(argv[i]);
    if (redis_command(6, argv, lens, on_claim_reply, c) != 0) {
        free(c);
        return -1;
    }
    return 0;
}

void bus_release_nick_locked(const char *nick) { nick_command(release_script, nick, NULL, NULL); }

static void on_refresh_reply(void *arg, redisReply *r)
{
    char *nick = (char *)arg;
    if (r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 0)
        fprintf(stderr, "chat: nick %s is held by another server now (lost during a Redis outage)\n", nick);
    free(nick);
}

/* Refreshes every chosen nick of this server (guests have no key). */
static void refresh_nicks_locked(void)
{
    size_t n = 0, i;
    iocpnet_conn *ids = rooms_all_locked(&n);
    for (i = 0; ids != NULL && i < n; i++) {
        member *m = rooms_find_conn_locked(ids[i]);
        char *copy;
        if (m == NULL || strncmp(m->nick, "guest-", 6) == 0) continue;
        if ((copy = (char *)malloc(MAX_NICK + 1)) == NULL) continue;
        strcpy(copy, m->nick);
        nick_command(refresh_script, m->nick, on_refresh_reply, copy);
    }
    free(ids);
}

/* ---------------------------------------------------------- receiving */

/* Splits "a\tb\t...": up to `max` fields into f (NUL-terminated in buf);
 * the last field takes the rest. Returns how many. */
static size_t split(char *buf, char **f, size_t max)
{
    size_t n = 0;
    char *p = buf;
    while (n < max) {
        char *tab;
        f[n++] = p;
        if (n == max || (tab = strchr(p, '\t')) == NULL) break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

static void deliver(const char *room, const char *a, const char *b, const char *c)
{
    char line[MAX_NICK + 12 + 4096 + 1];
    int len = snprintf(line, sizeof line, "%s%s%s", a, b, c);
    if (len > 0) chat_deliver_room(room, NULL, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
}

/* Fields each event type carries after "NODE\tT" (the last takes the rest). */
static size_t field_count(char type)
{
    switch (type) {
    case 'J': case 'L': return 2;
    case 'V': case 'N': case 'M': case 'P': return 3;
    case 'H': return 1;
    default: return 0;
    }
}

static void apply(const char *node, char type, char **f, uint64_t expires)
{
    char line[MAX_NICK + MAX_ROOM + 32];
    rooms_lock();
    rooms_node_touch_locked(node, expires);
    if (type == 'J') rooms_remote_set_locked(node, f[0], f[1]);
    else if (type == 'V') rooms_remote_set_locked(node, f[0], f[2]);
    else if (type == 'L') rooms_remote_remove_locked(node, f[0]);
    else if (type == 'N') rooms_remote_rename_locked(node, f[0], f[1]);
    else if (type == 'H') rooms_node_snapshot_locked(node, f[0], expires);
    else if (type == 'S') heartbeat_locked(); /* a newcomer wants to know us now */
    rooms_unlock();
    if (type == 'J') deliver(f[1], "* ", f[0], " joined");
    else if (type == 'V') {
        snprintf(line, sizeof line, "* %s moved to %s", f[0], f[2]);
        chat_deliver_room(f[1], NULL, line, strlen(line));
        deliver(f[2], "* ", f[0], " joined");
    } else if (type == 'L') deliver(f[1], "* ", f[0], " left");
    else if (type == 'N') {
        snprintf(line, sizeof line, "* %s is now %s", f[0], f[1]);
        chat_deliver_room(f[2], NULL, line, strlen(line));
    } else if (type == 'M') deliver(f[1], f[0], ": ", f[2]);
    else if (type == 'P') {
        char *msg = (char *)malloc(strlen(f[1]) + strlen(f[2]) + 16);
        if (msg != NULL) chat_deliver_nick(f[0], msg, (size_t)sprintf(msg, "%s (private): %s", f[1], f[2]));
        free(msg);
    }
}

/* One event from the channel: "NODE\tT" then its fields, tab-separated. */
static void on_message(const char *payload, size_t len)
{
    char *buf = (char *)malloc(len + 1), *tab, *rest, *f[3];
    size_t want;
    if (buf == NULL) return;
    memcpy(buf, payload, len);
    buf[len] = '\0';
    tab = strchr(buf, '\t');
    /* not an event, or ours (already delivered here) */
    if (tab == NULL || tab == buf || (size_t)(tab - buf) > MAX_NODE || tab[1] == '\0') goto done;
    *tab = '\0';
    if (strcmp(buf, bus.node) == 0) goto done;
    if (tab[2] == '\0') rest = tab + 2;
    else if (tab[2] == '\t') rest = tab + 3;
    else goto done;
    want = field_count(tab[1]);
    if ((want > 0 && split(rest, f, want) != want) || (want == 0 && tab[1] != 'S')) goto done;
    apply(buf, tab[1], f, now_ms() + NODE_TTL_MS);
done:
    free(buf);
}

static void on_up(void)
{
    const char *none[1] = {NULL};
    rooms_lock();
    publish('S', none, 0, NULL, 0); /* everyone answers with its H */
    heartbeat_locked();
    refresh_nicks_locked(); /* a restarted Redis lost every key */
    rooms_unlock();
}

static void on_down(void)
{
    rooms_lock();
    rooms_forget_nodes_locked(); /* unknown until Redis is back */
    rooms_unlock();
}

/* --------------------------------------------------- periodic work */

static void IOCPNET_CALL tick(void *arg, iocpnet_port *port, iocpnet_timer timer)
{
    uint64_t now = now_ms();
    (void)arg;
    (void)port;
    (void)timer;
    redis_tick(now);
    rooms_lock();
    rooms_expire_nodes_locked(now);
    if (now >= bus.next_heartbeat_ms && redis_is_up()) {
        bus.next_heartbeat_ms = now + HEARTBEAT_MS;
        heartbeat_locked();
        refresh_nicks_locked();
    }
    rooms_unlock();
}

int bus_start(iocpnet_port *port)
{
    redis_handlers h;
    int rc;
    h.on_message = on_message;
    h.on_up = on_up;
    h.on_down = on_down;
    if (redis_setup(port, bus.host, bus.port, CHANNEL, &h) != 0) return -1;
    redis_tick(now_ms()); /* first attempt now: the timer's first run is TICK_MS away */
    rc = iocpnet_timer_start(port, TICK_MS, TICK_MS, tick, NULL, &bus.timer);
    if (rc != IOCPNET_OK) {
        sample_report("iocpnet_timer_start", rc);
        return -1;
    }
    printf("redis %s:%u, node %s\n", bus.host, (unsigned)bus.port, bus.node);
    fflush(stdout);
    return 0;
}

void bus_stop(void)
{
    iocpnet_timer_stop(chat_port, bus.timer);
    redis_shutdown();
}

void bus_on_connect(iocpnet_conn conn, int status) { redis_on_connect(conn, status); }
int bus_on_data(iocpnet_conn conn, const uint8_t *data, size_t len) { return redis_on_data(conn, data, len); }
int bus_on_close(iocpnet_conn conn, int reason) { return redis_on_close(conn, reason); }
