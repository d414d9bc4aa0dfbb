/*
 * chat_rooms — the chat server's registry: who is connected, under which
 * nick, in which room; the local members (connections of this server) and,
 * in Redis mode, the members of the other servers as their heartbeats and
 * events describe them.
 *
 * Every function named *_locked must be called with rooms_lock() held; the
 * others take it themselves. The lock is never held while user-visible I/O
 * is waited for: iocpnet_send only queues, so the server may send while
 * holding it where order matters (see chat_server.c).
 */
#ifndef CHAT_ROOMS_H
#define CHAT_ROOMS_H

#include "sample_common.h"

#define MAX_NICK 32
#define MAX_ROOM 32
#define MAX_NODE 16
#define LOBBY "lobby"

typedef struct member {
    iocpnet_conn conn;
    size_t index;             /* position in the local table */
    int joined;               /* set once its welcome is sent: receives broadcasts */
    int nick_pending;         /* a /nick waits for Redis's answer */
    char nick[MAX_NICK + 1];
    char room[MAX_ROOM + 1];
} member;

/* A member of another server, as that server last told us. */
typedef struct remote_member {
    char node[MAX_NODE + 1];
    char nick[MAX_NICK + 1];
    char room[MAX_ROOM + 1];
} remote_member;

void rooms_init(void);
void rooms_free(void);
void rooms_lock(void);
void rooms_unlock(void);

/* 1 when s[0..len) is 1-32 of [A-Za-z0-9_-] (nicks, rooms and nodes alike). */
int rooms_valid_name(const char *s, size_t len, size_t max);

/* ----------------------------------------------------- local members */
int rooms_add_locked(member *m);          /* -1: no memory */
void rooms_remove_locked(member *m);
size_t rooms_count_locked(void);
member *rooms_find_conn_locked(iocpnet_conn conn);
/* The local or remote holder of `nick`: 1 local (*local set), 2 remote, 0 none. */
int rooms_find_nick_locked(const char *nick, member **local);

/* Ids of the joined local members in `room` (NULL: every room) other than
 * `except`, for sending after the lock is released. Caller frees; NULL when
 * none could be allocated. */
iocpnet_conn *rooms_receivers_locked(const char *room, const member *except, size_t *n);
/* Ids of every local member, joined or not (for the shutdown). Caller frees. */
iocpnet_conn *rooms_all_locked(size_t *n);

/* ----------------------------------------------- members of other servers */
/* A node's full list, from its heartbeat: replaces what we had, alive until
 * expires_ms. `list` is "nick=room" words separated by tabs. */
void rooms_node_snapshot_locked(const char *node, const char *list, uint64_t expires_ms);
void rooms_node_touch_locked(const char *node, uint64_t expires_ms);
void rooms_remote_set_locked(const char *node, const char *nick, const char *room); /* add or update */
void rooms_remote_rename_locked(const char *node, const char *old_nick, const char *new_nick);
void rooms_remote_remove_locked(const char *node, const char *nick);
/* Forgets nodes not heard from by now_ms; returns how many were dropped. */
size_t rooms_expire_nodes_locked(uint64_t now_ms);
/* Forgets every other node (Redis lost: their state is unknown). */
void rooms_forget_nodes_locked(void);

/* ----------------------------------------------------- replies */
/* "* online: a, b, c": every member of `room`, here and elsewhere, sorted.
 * "* rooms: games (2), lobby (3)": every room with members, sorted. Both
 * malloc'd (caller frees) with their length in *len; NULL on no memory. */
char *rooms_who_line(const char *room, size_t *len);
char *rooms_rooms_line(size_t *len);

/* This node's members as "nick=room" words separated by tabs, for a
 * heartbeat. Caller frees. */
char *rooms_snapshot_locked(size_t *len);

#endif /* CHAT_ROOMS_H */
