/*
 * chat_rooms — the registry of members and rooms (see chat_rooms.h).
 *
 * Plain arrays and linear scans: a chat server's tables hold thousands of
 * entries at most, and every scan happens under one short-held lock.
 * Local members are swap-removed by index (O(1)); members of other servers
 * are kept per node so that a node's heartbeat or expiry replaces or drops
 * its entries together.
 */
#include "chat_rooms.h"

typedef struct node_entry {
    char name[MAX_NODE + 1];
    uint64_t expires_ms;
} node_entry;

static struct {
    sample_mutex lock;
    member **members;
    size_t count, cap;
    remote_member *remote;
    size_t rcount, rcap;
    node_entry *nodes;
    size_t ncount, ncap;
} reg;

void rooms_init(void) { sample_mutex_init(&reg.lock); }

void rooms_free(void)
{
    free(reg.members);
    free(reg.remote);
    free(reg.nodes);
    reg.members = NULL;
    reg.remote = NULL;
    reg.nodes = NULL;
    reg.count = reg.cap = reg.rcount = reg.rcap = reg.ncount = reg.ncap = 0;
}

void rooms_lock(void) { sample_mutex_lock(&reg.lock); }
void rooms_unlock(void) { sample_mutex_unlock(&reg.lock); }

int rooms_valid_name(const char *s, size_t len, size_t max)
{
    size_t i;
    if (len < 1 || len > max) return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Grows *arr (of *cap elements of size `size`) to hold one more. */
static int grow(void **arr, size_t *cap, size_t count, size_t size)
{
    void *n;
    size_t ncap;
    if (count < *cap) return 0;
    ncap = *cap ? *cap * 2 : 16;
    n = realloc(*arr, ncap * size);
    if (n == NULL) return -1;
    *arr = n;
    *cap = ncap;
    return 0;
}

/* ----------------------------------------------------- local members */

int rooms_add_locked(member *m)
{
    if (grow((void **)&reg.members, &reg.cap, reg.count, sizeof *reg.members) != 0) return -1;
    m->index = reg.count;
    reg.members[reg.count++] = m;
    return 0;
}

void rooms_remove_locked(member *m)
{
    member *last = reg.members[--reg.count];
    reg.members[m->index] = last; /* swap-remove keeps it O(1) */
    last->index = m->index;
}

size_t rooms_count_locked(void) { return reg.count; }

member *rooms_find_conn_locked(iocpnet_conn conn)
{
    size_t i;
    for (i = 0; i < reg.count; i++)
        if (reg.members[i]->conn == conn) return reg.members[i];
    return NULL;
}

int rooms_find_nick_locked(const char *nick, member **local)
{
    size_t i;
    for (i = 0; i < reg.count; i++)
        if (strcmp(reg.members[i]->nick, nick) == 0) {
            if (local) *local = reg.members[i];
            return 1;
        }
    for (i = 0; i < reg.rcount; i++)
        if (strcmp(reg.remote[i].nick, nick) == 0) return 2;
    return 0;
}

iocpnet_conn *rooms_receivers_locked(const char *room, const member *except, size_t *n)
{
    iocpnet_conn *ids = (iocpnet_conn *)malloc((reg.count + 1) * sizeof *ids);
    size_t i;
    *n = 0;
    if (ids == NULL) return NULL;
    for (i = 0; i < reg.count; i++) {
        const member *m = reg.members[i];
        if (m != except && m->joined && (room == NULL || strcmp(m->room, room) == 0)) ids[(*n)++] = m->conn;
    }
    return ids;
}

iocpnet_conn *rooms_all_locked(size_t *n)
{
    iocpnet_conn *ids = (iocpnet_conn *)malloc((reg.count + 1) * sizeof *ids);
    size_t i;
    *n = 0;
    for (i = 0; ids != NULL && i < reg.count; i++) ids[(*n)++] = reg.members[i]->conn;
    return ids;
}

/* ----------------------------------------------- members of other servers */

static node_entry *find_node(const char *node)
{
    size_t i;
    for (i = 0; i < reg.ncount; i++)
        if (strcmp(reg.nodes[i].name, node) == 0) return &reg.nodes[i];
    return NULL;
}

void rooms_node_touch_locked(const char *node, uint64_t expires_ms)
{
    node_entry *e = find_node(node);
    if (e == NULL) {
        if (grow((void **)&reg.nodes, &reg.ncap, reg.ncount, sizeof *reg.nodes) != 0) return;
        e = &reg.nodes[reg.ncount++];
        snprintf(e->name, sizeof e->name, "%s", node);
    }
    e->expires_ms = expires_ms;
}

static void drop_node_members(const char *node)
{
    size_t i = 0;
    while (i < reg.rcount) {
        if (strcmp(reg.remote[i].node, node) == 0) reg.remote[i] = reg.remote[--reg.rcount];
        else i++;
    }
}

static remote_member *find_remote(const char *node, const char *nick)
{
    size_t i;
    for (i = 0; i < reg.rcount; i++)
        if (strcmp(reg.remote[i].nick, nick) == 0 && strcmp(reg.remote[i].node, node) == 0) return &reg.remote[i];
    return NULL;
}

void rooms_remote_set_locked(const char *node, const char *nick, const char *room)
{
    remote_member *r = find_remote(node, nick);
    if (r == NULL) {
        if (grow((void **)&reg.remote, &reg.rcap, reg.rcount, sizeof *reg.remote) != 0) return;
        r = &reg.remote[reg.rcount++];
        snprintf(r->node, sizeof r->node, "%s", node);
        snprintf(r->nick, sizeof r->nick, "%s", nick);
    }
    snprintf(r->room, sizeof r->room, "%s", room);
}

void rooms_remote_rename_locked(const char *node, const char *old_nick, const char *new_nick)
{
    remote_member *r = find_remote(node, old_nick);
    if (r != NULL) snprintf(r->nick, sizeof r->nick, "%s", new_nick);
}

void rooms_remote_remove_locked(const char *node, const char *nick)
{
    remote_member *r = find_remote(node, nick);
    if (r != NULL) *r = reg.remote[--reg.rcount];
}

void rooms_node_snapshot_locked(const char *node, const char *list, uint64_t expires_ms)
{
    const char *p = list;
    rooms_node_touch_locked(node, expires_ms);
    drop_node_members(node);
    while (*p) {
        const char *end = strchr(p, '\t'), *eq;
        size_t len = end ? (size_t)(end - p) : strlen(p);
        eq = (const char *)memchr(p, '=', len);
        if (eq != NULL && rooms_valid_name(p, (size_t)(eq - p), MAX_NICK) &&
            rooms_valid_name(eq + 1, len - (size_t)(eq - p) - 1, MAX_ROOM)) {
            char nick[MAX_NICK + 1], room[MAX_ROOM + 1];
            memcpy(nick, p, (size_t)(eq - p));
            nick[eq - p] = '\0';
            memcpy(room, eq + 1, len - (size_t)(eq - p) - 1);
            room[len - (size_t)(eq - p) - 1] = '\0';
            if (grow((void **)&reg.remote, &reg.rcap, reg.rcount, sizeof *reg.remote) == 0) {
                remote_member *r = &reg.remote[reg.rcount++];
                snprintf(r->node, sizeof r->node, "%s", node);
                snprintf(r->nick, sizeof r->nick, "%s", nick);
                snprintf(r->room, sizeof r->room, "%s", room);
            }
        }
        p += len;
        if (*p == '\t') p++;
    }
}

size_t rooms_expire_nodes_locked(uint64_t now_ms)
{
    size_t i = 0, dropped = 0;
    while (i < reg.ncount) {
        if (reg.nodes[i].expires_ms <= now_ms) {
            drop_node_members(reg.nodes[i].name);
            reg.nodes[i] = reg.nodes[--reg.ncount];
            dropped++;
        } else {
            i++;
        }
    }
    return dropped;
}

void rooms_forget_nodes_locked(void)
{
    reg.rcount = 0;
    reg.ncount = 0;
}

/* ----------------------------------------------------- replies */

typedef struct name_count {
    char name[MAX_NICK + 1]; /* MAX_NICK == MAX_ROOM */
    size_t count;
} name_count;

static int compare_names(const void *a, const void *b)
{
    return strcmp(((const name_count *)a)->name, ((const name_count *)b)->name);
}

/* "HEAD a, b, c" or "HEAD a (1), b (2)" from sorted entries. */
static char *join_line(const char *head, name_count *v, size_t n, int counts, size_t *len)
{
    size_t i, hl = strlen(head), out = hl;
    char *line = (char *)malloc(hl + n * (MAX_NICK + 26) + 1);
    if (line == NULL) return NULL;
    memcpy(line, head, hl);
    for (i = 0; i < n; i++) {
        if (i > 0) {
            memcpy(line + out, ", ", 2);
            out += 2;
        }
        if (counts) out += (size_t)sprintf(line + out, "%s (%lu)", v[i].name, (unsigned long)v[i].count);
        else out += (size_t)sprintf(line + out, "%s", v[i].name);
    }
    line[out] = '\0';
    *len = out;
    return line;
}

char *rooms_who_line(const char *room, size_t *len)
{
    name_count *v;
    size_t n = 0, i;
    char *line;
    rooms_lock();
    v = (name_count *)malloc((reg.count + reg.rcount + 1) * sizeof *v);
    for (i = 0; v != NULL && i < reg.count; i++)
        if (reg.members[i]->joined && strcmp(reg.members[i]->room, room) == 0) strcpy(v[n++].name, reg.members[i]->nick);
    for (i = 0; v != NULL && i < reg.rcount; i++)
        if (strcmp(reg.remote[i].room, room) == 0) strcpy(v[n++].name, reg.remote[i].nick);
    rooms_unlock();
    if (v == NULL) return NULL;
    qsort(v, n, sizeof *v, compare_names);
    line = join_line("* online: ", v, n, 0, len);
    free(v);
    return line;
}

/* Adds one member of `room` to the tally v[0..*n). */
static void tally(name_count *v, size_t *n, const char *room)
{
    size_t i;
    for (i = 0; i < *n; i++)
        if (strcmp(v[i].name, room) == 0) {
            v[i].count++;
            return;
        }
    strcpy(v[*n].name, room);
    v[(*n)++].count = 1;
}

char *rooms_rooms_line(size_t *len)
{
    name_count *v;
    size_t n = 0, i;
    char *line;
    rooms_lock();
    v = (name_count *)malloc((reg.count + reg.rcount + 1) * sizeof *v);
    for (i = 0; v != NULL && i < reg.count; i++)
        if (reg.members[i]->joined) tally(v, &n, reg.members[i]->room);
    for (i = 0; v != NULL && i < reg.rcount; i++) tally(v, &n, reg.remote[i].room);
    rooms_unlock();
    if (v == NULL) return NULL;
    qsort(v, n, sizeof *v, compare_names);
    line = join_line("* rooms: ", v, n, 1, len);
    free(v);
    return line;
}

char *rooms_snapshot_locked(size_t *len)
{
    size_t i, out = 0;
    char *s = (char *)malloc(reg.count * (MAX_NICK + MAX_ROOM + 2) + 1);
    if (s == NULL) return NULL;
    for (i = 0; i < reg.count; i++) {
        const member *m = reg.members[i];
        if (!m->joined) continue;
        out += (size_t)sprintf(s + out, "%s%s=%s", out ? "\t" : "", m->nick, m->room);
    }
    s[out] = '\0';
    *len = out;
    return s;
}
