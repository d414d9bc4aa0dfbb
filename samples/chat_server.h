/*
 * What chat_server.c offers the chat's other files: its port and the
 * delivery of lines to local members. These take the registry lock
 * themselves, so call them without it.
 */
#ifndef CHAT_SERVER_H
#define CHAT_SERVER_H

#include "chat_rooms.h"

extern iocpnet_port *chat_port;

/* Sends `line` to every joined local member of `room` but `except` (NULL:
 * nobody is left out). Receivers whose send queue is full are dropped. */
void chat_deliver_room(const char *room, const member *except, const char *line, size_t len);

/* Sends `line` to the local member called `nick`. Returns 0, or -1 when no
 * local member has that nick. */
int chat_deliver_nick(const char *nick, const char *line, size_t len);

/* Sends `line` to one connection (a reply). */
void chat_send_line(iocpnet_conn conn, const char *line, size_t len);

#endif /* CHAT_SERVER_H */
