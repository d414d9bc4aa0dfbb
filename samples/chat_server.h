/*
 * What chat_server.c offers the chat's other files: its port and the
 * delivery of lines to local members. These take the registry lock
 * themselves, so call them without it.
 */
#ifndef CHAT_SERVER_H
#define CHAT_SERVER_H

#include "chat_rooms.h"
#ifdef CHAT_REDIS
#  include "chat_bus.h"
/* Runs `call` only with --redis (and only in builds that have it). */
#  define ON_BUS(call) do { if (bus_enabled()) { call; } } while (0)
#else
#  define ON_BUS(call) do { } while (0)
#endif

#define MAX_LINE 4096 /* longest line a client may send, without its "\n" */

extern iocpnet_port *chat_port;

/* Sends `line` to every joined local member of `room` but `except` (NULL:
 * nobody is left out). Receivers whose send queue is full are dropped. */
void chat_deliver_room(const char *room, const member *except, const char *line, size_t len);

/* Sends `line` to the local member called `nick`. Returns 0, or -1 when no
 * local member has that nick. */
int chat_deliver_nick(const char *nick, const char *line, size_t len);

/* Sends `line` to one connection (a reply); a client whose queue is full
 * is dropped. chat_send_text: the same for a C string. */
void chat_send_line(iocpnet_conn conn, const char *line, size_t len);
void chat_send_text(iocpnet_conn conn, const char *text);

/* One shared copy of `text` to every id (iocpnet_send_many_ex); receivers
 * whose queue is full are dropped. ids may be NULL (nothing is sent). */
void chat_broadcast(const iocpnet_conn *ids, size_t n, const char *text, size_t len);

/* Sends "* <a><b>" to the joined members of `room` but `except`. */
void chat_announce(const char *room, const member *except, const char *a, const char *b);

/* Whether the server is shutting down (registry lock held). */
int chat_shutting_down_locked(void);

/* A line starting with "/" from member m (chat_commands.c). */
void chat_command(member *m, const char *line, size_t len);

#endif /* CHAT_SERVER_H */
