/*
 * chat_redis — a Redis client made of two iocpnet connections (RAW framing)
 * and hiredis's RESP reader and command formatter: one connection for
 * commands, whose replies come back in order and go to the callback given
 * with each command, and one that SUBSCRIBEs to one channel. The engine is
 * the client here: no thread or socket of its own.
 *
 * When either connection fails, both are closed, every pending command's
 * callback gets NULL, and redis_tick reconnects with backoff (100 ms doubling
 * to 2 s). on_up runs once both connections are ready and the subscription
 * is confirmed; on_down when that state is lost.
 *
 * Threads: every function may be called from any thread. Callbacks run on
 * engine workers with no lock of this file held, so they may call anything
 * here. Lock order: a caller may hold the chat registry lock while calling
 * redis_command (the bus publishes under it); this file never takes that
 * lock itself.
 */
#ifndef CHAT_REDIS_H
#define CHAT_REDIS_H

#include "sample_common.h" /* first: it sets _POSIX_C_SOURCE */
#include <hiredis.h>

/* The reply to one command, or NULL when the connection was lost before it
 * came. The reply is freed after the call. */
typedef void (*redis_reply_fn)(void *arg, redisReply *reply);

typedef struct redis_handlers {
    void (*on_message)(const char *payload, size_t len); /* a message on the channel */
    void (*on_up)(void);
    void (*on_down)(void);
} redis_handlers;

/* Remembers where Redis is and which channel to subscribe to; connects on
 * the first redis_tick. host is copied. Returns 0, or -1 on no memory. */
int redis_setup(iocpnet_port *port, const char *host, uint16_t tcp_port, const char *channel,
                const redis_handlers *h);

/* Sends one command (argv strings with their lengths) on the command
 * connection; fn (may be NULL) gets its reply. Returns 0, or -1 when Redis
 * is not up or the connection's send queue is full: nothing was sent and fn
 * will not be called. */
int redis_command(int argc, const char **argv, const size_t *lens, redis_reply_fn fn, void *arg);

/* 1 while both connections are up and subscribed. */
int redis_is_up(void);

/* Reconnects when the connections are down and the backoff has passed. */
void redis_tick(uint64_t now_ms);

/* Engine callbacks: each returns 1 when conn is one of ours (handled), 0 for
 * every other connection. */
int redis_on_connect(iocpnet_conn conn, int status);
int redis_on_data(iocpnet_conn conn, const uint8_t *data, size_t len);
int redis_on_close(iocpnet_conn conn, int reason);

/* Closes both connections gracefully (queued commands still go out) and
 * stops reconnecting. */
void redis_shutdown(void);

#endif /* CHAT_REDIS_H */
