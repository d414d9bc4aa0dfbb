/*
 * chat_bus — many chat servers sharing one Redis (chat_server --redis).
 *
 * Design (also in the README):
 *  - Channel "chat:events": every server PUBLISHes each event of its own
 *    members there and SUBSCRIBEs to it. An event is one tab-separated
 *    message "NODE<TAB>TYPE<TAB>fields...": J nick room (joined), V nick old
 *    new (moved), L nick room (left), N old new room (nick), M nick room text
 *    (said), P to from text (private), H nick=room... (heartbeat: the
 *    node's full member list), S (a node came up: everyone sends H now).
 *    A server delivers others' events to its own members; its own it has
 *    already delivered locally, so local chat needs no Redis. One server's
 *    events leave through one connection in the order of its registry, so
 *    every receiver sees each sender's lines in order.
 *  - Presence: each server keeps the other servers' members as their H and
 *    events tell, and forgets a server it has not heard from for 6 s; H goes
 *    out every 2 s. /who, /rooms and /msg read that table, so they need no
 *    round trip, and a kill -9'd server's users are gone within 6-7 s.
 *  - Nicks: a chosen nick is claimed with SET chat:nick:NICK NODE NX EX 7,
 *    refreshed every 2 s (a script that extends it if it is still ours, or
 *    takes it back if it lapsed during an outage), deleted when given up;
 *    a dead server's nicks lapse within 7 s. Guests are guest-NODE-N, unique
 *    by construction since chosen nicks may not start with "guest-".
 *  - Redis Cluster: one channel and single-key commands only, so SPUBLISH /
 *    SSUBSCRIBE (sharded pub/sub) can replace PUBLISH / SUBSCRIBE as they are.
 *  - What is said while Redis is down reaches the sender's own server only.
 *
 * Threads: any thread. Functions named *_locked must be called with the
 * registry lock held (rooms_lock): events are published in registry order.
 */
#ifndef CHAT_BUS_H
#define CHAT_BUS_H

#include "chat_rooms.h"

/* Parses --redis HOST:PORT and --node NAME (NULL: "n" + process id).
 * Returns 0, or -1 after printing why. */
int bus_configure(const char *hostport, const char *node);
/* Starts the periodic work (heartbeats, nick refresh, expiry, reconnects);
 * the first connection attempt is made at once. Returns 0, or -1. */
int bus_start(iocpnet_port *port);
/* Stops the periodic work and closes the Redis connections gracefully. */
void bus_stop(void);
int bus_enabled(void);
const char *bus_node(void);

/* Engine callbacks for the Redis connections: 1 when conn was ours. */
void bus_on_connect(iocpnet_conn conn, int status);
int bus_on_data(iocpnet_conn conn, const uint8_t *data, size_t len);
int bus_on_close(iocpnet_conn conn, int reason);

/* Events of this server's members (registry lock held). */
void bus_joined_locked(const char *nick, const char *room);
void bus_moved_locked(const char *nick, const char *old_room, const char *new_room);
void bus_left_locked(const char *nick, const char *room);
void bus_renamed_locked(const char *old_nick, const char *new_nick, const char *room);
void bus_said_locked(const char *nick, const char *room, const char *text, size_t len);
void bus_private_locked(const char *to, const char *from, const char *text, size_t len);

/* Asks Redis for `nick` on behalf of conn; chat_nick_claimed(conn, nick, r)
 * follows with r 1 (it is ours now), 0 (taken) or -1 (Redis lost meanwhile).
 * Returns 0, or -1 when Redis is unreachable (no callback follows). */
int bus_claim_nick(iocpnet_conn conn, const char *nick);
/* Gives a claimed nick back (only if this server still holds it). */
void bus_release_nick_locked(const char *nick);

/* Implemented by chat_server.c. */
void chat_nick_claimed(iocpnet_conn conn, const char *nick, int result);

#endif /* CHAT_BUS_H */
