/*
 * iocpnet — a TCP engine with I/O-completion-port semantics.
 *
 * This header is the whole public API and its documentation. It is C99 and
 * C++ clean, and its ABI is stable: ids are 64-bit integers, structs that may
 * grow start with `struct_size` and are only ever appended to, and nothing
 * here throws, asserts or aborts — every failure is a negative code.
 *
 * Threads. The engine runs a few worker threads that deliver callbacks.
 * Unless a function says otherwise it may be called from any thread,
 * including from inside a callback.
 *
 * Callback guarantees, per connection:
 *   - callbacks of one connection never run concurrently, and run in order:
 *     on_accept (or on_connect with IOCPNET_OK) first, then any number of
 *     on_data / on_drain, then on_close exactly once;
 *   - a connect that fails gets on_connect with the error and nothing else;
 *   - on_close's reason is IOCPNET_OK when this side closed the connection
 *     (iocpnet_close or iocpnet_port_destroy), IOCPNET_E_PEER_CLOSED on the
 *     peer's orderly shutdown, IOCPNET_E_CONN_RESET on a reset,
 *     IOCPNET_E_TIMEOUT on an idle timeout, IOCPNET_E_MESSAGE_TOO_LARGE when
 *     the peer broke the framing limit;
 *   - after on_close the id is dead: every call with it gives
 *     IOCPNET_E_NOT_FOUND, as does id 0. Ids are never reused within a port.
 *
 * Errors. Every `int` result is IOCPNET_OK (0) or a negative IOCPNET_E_*
 * code; iocpnet_strerror and iocpnet_err_name describe a code and
 * iocpnet_last_error_message gives this thread's detail of its last failure.
 */
#ifndef IOCPNET_IOCPNET_H
#define IOCPNET_IOCPNET_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  define IOCPNET_CALL __cdecl
#  if defined(IOCPNET_BUILDING)
#    define IOCPNET_API __declspec(dllexport)
#  elif defined(IOCPNET_STATIC)
#    define IOCPNET_API
#  else
#    define IOCPNET_API __declspec(dllimport)
#  endif
#else
#  define IOCPNET_CALL
#  if defined(IOCPNET_BUILDING) && defined(__GNUC__)
#    define IOCPNET_API __attribute__((visibility("default")))
#  else
#    define IOCPNET_API
#  endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- version */

#define IOCPNET_VERSION_MAJOR 1
#define IOCPNET_VERSION_MINOR 0
#define IOCPNET_VERSION_PATCH 0

/* (major << 16) | (minor << 8) | patch of the loaded library. Never fails. */
IOCPNET_API uint32_t IOCPNET_CALL iocpnet_version(void);

/* ----------------------------------------------------------------- errors */

/* The one error table: XX(name, value, message). Values never change. */
#define IOCPNET_ERRNO_MAP(XX)                                                  \
    XX(INVALID_ARG, -1, "invalid argument")                                    \
    XX(NO_MEMORY, -2, "out of memory")                                         \
    XX(NOT_FOUND, -3, "unknown or already closed id")                          \
    XX(WOULD_BLOCK, -4, "send queue full")                                     \
    XX(ADDR_IN_USE, -5, "address already in use")                              \
    XX(ADDR_INVALID, -6, "invalid or unresolvable address")                    \
    XX(CONN_REFUSED, -7, "connection refused")                                 \
    XX(CONN_RESET, -8, "connection reset by peer")                             \
    XX(PEER_CLOSED, -9, "connection closed by peer")                           \
    XX(TIMEOUT, -10, "timed out")                                              \
    XX(SHUTTING_DOWN, -11, "port is shutting down")                            \
    XX(IN_CALLBACK, -12, "not allowed inside a callback")                      \
    XX(UNSUPPORTED, -13, "not supported here")                                 \
    XX(LIMIT, -14, "limit reached")                                            \
    XX(SYSTEM, -15, "system error")                                            \
    XX(MESSAGE_TOO_LARGE, -16, "message larger than max_message_size")         \
    XX(UNREACHABLE, -17, "network or host unreachable")                        \
    XX(WRITE_SHUTDOWN, -18, "write side already shut down")                    \
    XX(PROTOCOL, -19, "protocol violation by the peer")                        \
    XX(TLS, -20, "TLS handshake or verification failed")

#define IOCPNET_XX_(name, value, msg) IOCPNET_E_##name = value,
#define IOCPNET_COUNT_(name, value, msg) - 1
enum {
    IOCPNET_OK = 0,
    IOCPNET_ERRNO_MAP(IOCPNET_XX_)
    IOCPNET_E_LAST_ = 0 IOCPNET_ERRNO_MAP(IOCPNET_COUNT_) - 1 /* one below the lowest code */
};
#undef IOCPNET_XX_
#undef IOCPNET_COUNT_

/* "connection refused" for IOCPNET_E_CONN_REFUSED; "unknown error" for a
 * value not in the table. The string is static. Never fails. */
IOCPNET_API const char *IOCPNET_CALL iocpnet_strerror(int err);

/* "IOCPNET_E_CONN_REFUSED" for IOCPNET_E_CONN_REFUSED, "IOCPNET_OK" for 0,
 * "IOCPNET_E_UNKNOWN" otherwise. The string is static. Never fails. */
IOCPNET_API const char *IOCPNET_CALL iocpnet_err_name(int err);

/* Detail of the last failed call made by this thread (for example the
 * system's message for IOCPNET_E_SYSTEM); "" when there is none. The string
 * stays valid until this thread's next iocpnet call. */
IOCPNET_API const char *IOCPNET_CALL iocpnet_last_error_message(void);

/* ------------------------------------------------------------------ types */

typedef struct iocpnet_port iocpnet_port; /* engine instance: completion port + workers */
typedef struct iocpnet_tls iocpnet_tls;   /* a TLS configuration shared by many connections (see TLS below) */
typedef uint64_t iocpnet_conn;            /* connection id; never reused in a port; 0 never valid */
typedef uint64_t iocpnet_listener;        /* listener id; same rules */

typedef enum iocpnet_backend {
    IOCPNET_BACKEND_AUTO = 0,     /* Windows: IOCP; Linux: io_uring, else epoll */
    IOCPNET_BACKEND_IOCP = 1,
    IOCPNET_BACKEND_IO_URING = 2,
    IOCPNET_BACKEND_EPOLL = 3
} iocpnet_backend;

enum { IOCPNET_CLOSE_GRACEFUL = 0, IOCPNET_CLOSE_ABORT = 1 };

/* Message framing of a connection (iocpnet_conn_options.framing). */
typedef enum iocpnet_framing {
    IOCPNET_FRAMING_RAW = 0,           /* a byte stream: on_data gets what arrived */
    IOCPNET_FRAMING_LENGTH_PREFIX = 1, /* 4-byte big-endian length, then payload */
    IOCPNET_FRAMING_LINE = 2,          /* lines ending in "\n" ("\r\n" accepted) */
    IOCPNET_FRAMING_WEBSOCKET = 3      /* RFC 6455 messages; see "WebSocket" below */
} iocpnet_framing;

/* A uint32_t option set to this takes the port's (config) value. */
#define IOCPNET_INHERIT 0xFFFFFFFFu

/* Port configuration. Call iocpnet_config_init, then change fields. */
typedef struct iocpnet_config {
    uint32_t struct_size;          /* sizeof(iocpnet_config); set by iocpnet_config_init */
    uint32_t worker_threads;       /* 0 = one per CPU core */
    uint32_t backend;              /* iocpnet_backend; AUTO = best available */
    uint32_t max_connections;      /* 0 = unlimited; beyond it new accepts are closed at once */
    uint64_t max_send_queue_bytes; /* per connection; 0 = default (4 MiB) */
    uint32_t idle_timeout_ms;      /* 0 = off; close with IOCPNET_E_TIMEOUT after no bytes received for this long */
    uint32_t connect_timeout_ms;   /* 0 = off (the system's); on_connect(IOCPNET_E_TIMEOUT) after this long */
    uint32_t tcp_nodelay;          /* 1 (default) = TCP_NODELAY on; 0 = Nagle on */
    uint32_t keepalive_s;          /* 0 (default) = off; else TCP keepalive probes after this idle time */
    /* new fields are only ever appended */
} iocpnet_config;

/* Fills *cfg with the defaults and sets struct_size. NULL is ignored. */
IOCPNET_API void IOCPNET_CALL iocpnet_config_init(iocpnet_config *cfg);

/* Per-listener or per-outgoing-connection options (iocpnet_listen_ex,
 * iocpnet_connect_ex). Call iocpnet_conn_options_init, then change fields. */
typedef struct iocpnet_conn_options {
    uint32_t struct_size;          /* sizeof(iocpnet_conn_options); set by _init */
    uint32_t framing;              /* iocpnet_framing; default RAW */
    uint32_t max_message_size;     /* framed messages; 0 = default (1 MiB) */
    uint32_t idle_timeout_ms;      /* IOCPNET_INHERIT (default) = the config's; 0 = off */
    uint32_t connect_timeout_ms;   /* IOCPNET_INHERIT (default) = the config's; 0 = off */
    uint32_t tcp_nodelay;          /* IOCPNET_INHERIT (default), 0 or 1 */
    uint32_t keepalive_s;          /* IOCPNET_INHERIT (default), 0 = off, or seconds */
    uint32_t half_open;            /* 0 (default): the peer's FIN closes the connection (PEER_CLOSED);
                                      1: on_peer_shutdown instead, and the connection stays open for
                                      sending (see iocpnet_shutdown_write) */
    /* WEBSOCKET framing, outgoing connections: the Host header (NULL =
     * "host:port" as given to connect_ex) and the request path (NULL = "/").
     * Copied by connect_ex. */
    const char *ws_host;
    const char *ws_path;
    iocpnet_tls *tls;              /* NULL (default) = plain TCP; else TLS with this configuration (its role
                                      must match: SERVER for listen_ex, CLIENT for connect_ex); the listener
                                      or connection holds its own reference */
    const char *server_name;       /* client: the name sent as SNI and verified in the server's certificate;
                                      NULL (default) = the host passed to connect; copied by connect_ex */
    /* new fields are only ever appended */
} iocpnet_conn_options;

/* Fills *opt with the defaults and sets struct_size. NULL is ignored. */
IOCPNET_API void IOCPNET_CALL iocpnet_conn_options_init(iocpnet_conn_options *opt);

/* Callbacks run on the engine's worker threads. Any pointer may be NULL.
 * A callback may call any iocpnet function except iocpnet_port_destroy on
 * its own port. `data` in on_data is valid only during the call: with RAW
 * framing it is whatever arrived (len > 0), with other framings exactly one
 * message without its length header or line ending — an empty message (a
 * zero length header, an empty line) arrives with len 0. */
typedef struct iocpnet_callbacks {
    uint32_t struct_size; /* sizeof(iocpnet_callbacks) */
    void(IOCPNET_CALL *on_accept)(void *user, iocpnet_port *port, iocpnet_listener listener, iocpnet_conn conn);
    void(IOCPNET_CALL *on_connect)(void *user, iocpnet_port *port, iocpnet_conn conn, int status);
    void(IOCPNET_CALL *on_data)(void *user, iocpnet_port *port, iocpnet_conn conn, const uint8_t *data, size_t len);
    /* the send queue fell to half of max_send_queue_bytes after a WOULD_BLOCK */
    void(IOCPNET_CALL *on_drain)(void *user, iocpnet_port *port, iocpnet_conn conn);
    void(IOCPNET_CALL *on_close)(void *user, iocpnet_port *port, iocpnet_conn conn, int reason);
    /* The peer broke the framing (err: IOCPNET_E_MESSAGE_TOO_LARGE). The
     * connection is still open during this call, so a last reply may be sent;
     * then the engine stops reading, flushes the queue, closes gracefully and
     * on_close follows with err as its reason. */
    void(IOCPNET_CALL *on_framing_error)(void *user, iocpnet_port *port, iocpnet_conn conn, int err);
    /* The peer of a half_open connection shut down its write side (its FIN
     * arrived after every byte before it was delivered). Called once; the
     * connection stays open for sending. When this side has shut down its
     * write side too (iocpnet_shutdown_write) the connection closes with
     * IOCPNET_E_PEER_CLOSED once both directions are done. */
    void(IOCPNET_CALL *on_peer_shutdown)(void *user, iocpnet_port *port, iocpnet_conn conn);
} iocpnet_callbacks;

typedef struct iocpnet_stats {
    uint32_t struct_size; /* caller sets sizeof(iocpnet_stats) */
    uint32_t backend;     /* the backend in use, never AUTO */
    uint64_t connections_open, connections_accepted, connections_connected, connections_closed;
    uint64_t bytes_received, bytes_sent, send_queue_bytes;
    uint64_t tls_handshakes_failed; /* incoming TLS connections refused: failed or timed-out handshakes */
    /* new fields are only ever appended */
} iocpnet_stats;

/* ------------------------------------------------------------------- port */

/* Creates a port and starts its worker threads.
 * cfg may be NULL (defaults); its struct_size may be that of an older, smaller
 * iocpnet_config. cbs may be NULL (no callbacks yet, see iocpnet_set_callbacks).
 * `user` is passed to every callback.
 * The environment variable IOCPNET_BACKEND=epoll|io_uring|iocp overrides AUTO.
 * Errors: INVALID_ARG (out NULL, bad struct_size or backend value),
 * UNSUPPORTED (the backend asked for does not exist or is refused here),
 * NO_MEMORY, SYSTEM. */
IOCPNET_API int IOCPNET_CALL iocpnet_port_create(const iocpnet_config *cfg, const iocpnet_callbacks *cbs,
                                                 void *user, iocpnet_port **out);

/* Stops the listeners, closes every connection (on_close fires once for each,
 * reason IOCPNET_OK; a connection still connecting gets on_connect with
 * IOCPNET_E_SHUTTING_DOWN instead; one accepted but not yet announced by
 * on_accept is closed without any callback), drops unsent data, waits for
 * every operation in flight, runs every post it accepted, joins the workers
 * and frees the port. Callbacks still running on other threads finish first.
 * Calls made on other threads while destroy runs get documented errors
 * (SHUTTING_DOWN, NOT_FOUND); none may be made once it has returned.
 * Errors: INVALID_ARG (NULL), IN_CALLBACK (called from one of this port's
 * worker threads, e.g. inside its callback: the port is left intact). */
IOCPNET_API int IOCPNET_CALL iocpnet_port_destroy(iocpnet_port *port);

/* Replaces the callbacks and user pointer; callbacks that start after the
 * call see the new ones. cbs may be NULL (no callbacks).
 * Errors: INVALID_ARG. */
IOCPNET_API int IOCPNET_CALL iocpnet_set_callbacks(iocpnet_port *port, const iocpnet_callbacks *cbs, void *user);

/* Runs fn(arg) once on one of the port's worker threads. A post accepted
 * before iocpnet_port_destroy began still runs before destroy returns.
 * Errors: INVALID_ARG, SHUTTING_DOWN (destroy has begun: fn will not run). */
IOCPNET_API int IOCPNET_CALL iocpnet_post(iocpnet_port *port, void(IOCPNET_CALL *fn)(void *arg), void *arg);

/* Copies the port's counters into *out, writing at most out->struct_size
 * bytes. Any thread. The counters are read one by one while the workers run,
 * so two of them may disagree for a moment: connections_open counts every
 * connection that holds resources, from accept or connect until its slot is
 * released after on_close, including incoming connections still in their
 * TLS or WebSocket handshake (on_accept not yet called) and refused ones
 * until their socket is closed (tls_handshakes_failed may already count
 * them). Errors: INVALID_ARG (NULL, struct_size below 8). */
IOCPNET_API int IOCPNET_CALL iocpnet_get_stats(iocpnet_port *port, iocpnet_stats *out);

/* -------------------------------------------------------------- listening */

/* Listens on host:tcp_port ("0.0.0.0", "::" (IPv4 and IPv6), "127.0.0.1",
 * "localhost", NULL = all IPv4 addresses); tcp_port 0 picks a free port (see
 * iocpnet_listener_port). Accepted connections get on_accept, with RAW
 * framing and the config's timeouts. Errors: INVALID_ARG, ADDR_INVALID,
 * ADDR_IN_USE, SHUTTING_DOWN, SYSTEM. */
IOCPNET_API int IOCPNET_CALL iocpnet_listen(iocpnet_port *port, const char *host, uint16_t tcp_port,
                                            iocpnet_listener *out);

/* As iocpnet_listen, with options for every connection it accepts.
 * opt may be NULL (defaults). Errors: as iocpnet_listen. */
IOCPNET_API int IOCPNET_CALL iocpnet_listen_ex(iocpnet_port *port, const char *host, uint16_t tcp_port,
                                               const iocpnet_conn_options *opt, iocpnet_listener *out);

/* The local TCP port a listener is bound to. Errors: INVALID_ARG, NOT_FOUND. */
IOCPNET_API int IOCPNET_CALL iocpnet_listener_port(iocpnet_port *port, iocpnet_listener listener, uint16_t *out);

/* Stops accepting on a listener; connections it accepted stay open. The
 * socket is closed by a worker shortly after the call returns; a peer that
 * connects in between is closed at once without on_accept.
 * Errors: INVALID_ARG, NOT_FOUND. */
IOCPNET_API int IOCPNET_CALL iocpnet_unlisten(iocpnet_port *port, iocpnet_listener listener);

/* ------------------------------------------------------------ connections */

/* Starts connecting to host:tcp_port (a name is resolved first, on the
 * calling thread). Returns the new id at once; on_connect reports the
 * outcome (IOCPNET_OK, CONN_REFUSED, TIMEOUT, UNREACHABLE, ...). Bytes sent
 * before on_connect are queued. Errors: INVALID_ARG, ADDR_INVALID, LIMIT
 * (max_connections, or no descriptor left), SHUTTING_DOWN, SYSTEM. */
IOCPNET_API int IOCPNET_CALL iocpnet_connect(iocpnet_port *port, const char *host, uint16_t tcp_port,
                                             iocpnet_conn *out);

/* As iocpnet_connect, with options. opt may be NULL. */
IOCPNET_API int IOCPNET_CALL iocpnet_connect_ex(iocpnet_port *port, const char *host, uint16_t tcp_port,
                                                const iocpnet_conn_options *opt, iocpnet_conn *out);

/* Copies len bytes into the connection's send queue and returns at once.
 * Bytes sent on one connection arrive complete and in order. With LENGTH_PREFIX
 * framing the call adds the 4-byte header, with LINE framing a "\n".
 * Errors: INVALID_ARG (port NULL, data NULL with len > 0, a "\n" inside a
 * LINE-framed message), NOT_FOUND (unknown,
 * closing or closed id), WOULD_BLOCK (the queue would exceed
 * max_send_queue_bytes: nothing was queued, on_drain follows once it is down
 * to half), LIMIT (len alone exceeds max_send_queue_bytes, or a
 * LENGTH_PREFIX message of 4 GiB or more), NO_MEMORY. max_message_size limits
 * what the peer may send, not what this side sends. */
IOCPNET_API int IOCPNET_CALL iocpnet_send(iocpnet_port *port, iocpnet_conn conn, const void *data, size_t len);

/* Sends one payload to many connections sharing one reference-counted copy,
 * freed when the last receiver's send completes. A receiver that is unknown,
 * closed or full (on_drain follows for it, as after WOULD_BLOCK), or whose
 * framing cannot carry the payload, is skipped; *queued (may be NULL) is how
 * many got it. Bytes of one sender's calls reach each receiver in order.
 * Errors: INVALID_ARG (port NULL, conns NULL with count > 0, data NULL with
 * len > 0), NO_MEMORY. Skipped receivers are not errors. */
IOCPNET_API int IOCPNET_CALL iocpnet_send_many(iocpnet_port *port, const iocpnet_conn *conns, size_t count,
                                               const void *data, size_t len, size_t *queued);

/* As iocpnet_send_many, and results[i] (results may be NULL) tells what
 * happened for conns[i]: IOCPNET_OK, NOT_FOUND, WOULD_BLOCK (its queue is
 * full: on_drain follows), LIMIT or INVALID_ARG (its framing cannot carry the
 * payload), NO_MEMORY. A relay or chat server uses it to drop exactly the
 * receivers that cannot keep up. Errors: as iocpnet_send_many. */
IOCPNET_API int IOCPNET_CALL iocpnet_send_many_ex(iocpnet_port *port, const iocpnet_conn *conns, size_t count,
                                                  const void *data, size_t len, int *results, size_t *queued);

/* Closes a connection. GRACEFUL sends what is queued, then shuts down the
 * write side (then waits up to 5 s for the peer's EOF so that the close is
 * not a reset); ABORT drops the queue and resets. Either way no callback but
 * on_close (reason IOCPNET_OK) follows, and later calls with the id give
 * NOT_FOUND. on_close does not wait for a graceful flush: the bytes still
 * going out count in iocpnet_stats.send_queue_bytes until they have. Called from another thread, close may race with a callback of
 * this connection that its worker is already delivering: that one callback
 * still runs. A connection still connecting is cancelled instead: its
 * on_connect comes with IOCPNET_E_SHUTTING_DOWN and no on_close follows.
 * Errors: INVALID_ARG (bad mode), NOT_FOUND. */
IOCPNET_API int IOCPNET_CALL iocpnet_close(iocpnet_port *port, iocpnet_conn conn, int mode);

/* Several buffers sent as one message: framing applies to their
 * concatenation (one length header, one line end), and the bytes are copied
 * and queued all or nothing. A buffer with len 0 may have data NULL.
 * Errors: as iocpnet_send (INVALID_ARG also for bufs NULL with count > 0). */
typedef struct iocpnet_buf {
    const void *data;
    size_t len;
} iocpnet_buf;
IOCPNET_API int IOCPNET_CALL iocpnet_sendv(iocpnet_port *port, iocpnet_conn conn, const iocpnet_buf *bufs,
                                           size_t count);

/* Called once when the engine no longer needs a buffer given to
 * iocpnet_send_owned, with no engine lock held. */
typedef void(IOCPNET_CALL *iocpnet_free_fn)(void *arg, const void *data);

/* Zero-copy send: queues `data` without copying it; the engine calls
 * free_fn(free_arg, data) exactly once when it no longer needs the bytes
 * (sent, or dropped by a close or destroy), on one of the port's worker
 * threads — or in the calling thread before this returns when the bytes had
 * to be copied anyway (a transform such as TLS) — and the caller must neither
 * change nor free them before. When the
 * call fails, free_fn is not called and the caller keeps the buffer. The
 * bytes count toward max_send_queue_bytes like any send; framing is added as
 * by iocpnet_send. free_fn may be NULL (the buffer outlives the port).
 * Errors: as iocpnet_send. */
IOCPNET_API int IOCPNET_CALL iocpnet_send_owned(iocpnet_port *port, iocpnet_conn conn, const void *data,
                                                size_t len, iocpnet_free_fn free_fn, void *free_arg);

/* Half-close: once everything queued is sent, shuts down the write side
 * (the peer reads EOF); the connection keeps receiving. Without half_open
 * the peer's own FIN then closes it (on_close with PEER_CLOSED); with
 * half_open, on_peer_shutdown comes and the connection closes once both
 * directions are done. Later sends fail with IOCPNET_E_WRITE_SHUTDOWN and
 * queue nothing. Idempotent. Errors: INVALID_ARG, NOT_FOUND. */
IOCPNET_API int IOCPNET_CALL iocpnet_shutdown_write(iocpnet_port *port, iocpnet_conn conn);

/* Receive flow control. While paused the engine stops reading the socket
 * (bytes stay in the kernel, so TCP's window slows the peer down) and no
 * on_data starts after iocpnet_pause_recv returns. Bytes already read but not
 * yet delivered — with io_uring, also what the kernel had completed before
 * the stop reached it, at most about a socket buffer — are kept and delivered
 * after resume, in order, before anything read later (and before a close the
 * peer made meanwhile); with RAW framing in on_data calls of at most 64 KiB. The idle
 * timeout does not run while paused and starts afresh on resume. Called
 * inside this connection's on_data, pause takes effect before the next
 * message; called on another thread it may race with an on_data its worker
 * is already delivering, and that one still runs. Resume delivers on a
 * worker, never inside the call. Both are idempotent and work from on_accept
 * / on_connect on. Errors: INVALID_ARG, NOT_FOUND. */
IOCPNET_API int IOCPNET_CALL iocpnet_pause_recv(iocpnet_port *port, iocpnet_conn conn);
IOCPNET_API int IOCPNET_CALL iocpnet_resume_recv(iocpnet_port *port, iocpnet_conn conn);

/* Bytes queued on a connection (payload and framing) that the system has
 * not yet taken: what counts toward max_send_queue_bytes.
 * Errors: INVALID_ARG (out NULL), NOT_FOUND. */
IOCPNET_API int IOCPNET_CALL iocpnet_conn_queued_bytes(iocpnet_port *port, iocpnet_conn conn, uint64_t *out);

typedef void(IOCPNET_CALL *iocpnet_conn_fn)(void *arg, iocpnet_port *port, iocpnet_conn conn);

/* Runs fn(arg, port, conn) exactly once on the connection's worker,
 * serialized with its callbacks (never concurrently with them, never inside
 * the caller, even on that worker) and before its last callback: if the
 * connection closes first, fn runs just before on_close (or before a failed
 * on_connect). Errors: INVALID_ARG (fn NULL), NOT_FOUND (unknown, closing or
 * closed id: fn will not run), SHUTTING_DOWN. */
IOCPNET_API int IOCPNET_CALL iocpnet_conn_post(iocpnet_port *port, iocpnet_conn conn, iocpnet_conn_fn fn,
                                               void *arg);

/* Attaches an application pointer to a connection / reads it back (NULL if
 * never set). get_user also works while the connection is closing and inside
 * its on_close (or failed on_connect), so that callback can free the pointer;
 * set_user works only on an open connection. Errors: INVALID_ARG, NOT_FOUND. */
IOCPNET_API int IOCPNET_CALL iocpnet_conn_set_user(iocpnet_port *port, iocpnet_conn conn, void *user);
IOCPNET_API int IOCPNET_CALL iocpnet_conn_get_user(iocpnet_port *port, iocpnet_conn conn, void **out);

/* Buffer size that fits any address text, with its NUL. */
#define IOCPNET_ADDRSTRLEN 64

/* The peer's / the local address as text: "127.0.0.1:9034", "[::1]:9034".
 * Writes a NUL-terminated string into buf. Both are recorded when the
 * connection is established (for an accepted one, the peer as accept
 * reported it), so they stay available after a reset; like get_user they
 * work until on_close has returned. Errors: INVALID_ARG, NOT_FOUND,
 * LIMIT (buflen too small), SYSTEM (still connecting, or the system did not
 * report the address). */
IOCPNET_API int IOCPNET_CALL iocpnet_conn_peer_address(iocpnet_port *port, iocpnet_conn conn, char *buf,
                                                       size_t buflen);
IOCPNET_API int IOCPNET_CALL iocpnet_conn_local_address(iocpnet_port *port, iocpnet_conn conn, char *buf,
                                                        size_t buflen);

/* ----------------------------------------------------------------- timers */

typedef uint64_t iocpnet_timer; /* timer id; never reused in a port; 0 never valid */
typedef void(IOCPNET_CALL *iocpnet_timer_fn)(void *arg, iocpnet_port *port, iocpnet_timer timer);

/* Runs fn(arg, port, timer) on one of the port's workers (the calling one
 * when called on a worker) once delay_ms has passed, then every repeat_ms
 * (0 = once). fn never runs before its time, never twice at once, and a
 * repeating timer that falls behind skips the runs it missed. *out gets the
 * id. Errors: INVALID_ARG (fn or out NULL), SHUTTING_DOWN, NO_MEMORY. */
IOCPNET_API int IOCPNET_CALL iocpnet_timer_start(iocpnet_port *port, uint64_t delay_ms, uint64_t repeat_ms,
                                                 iocpnet_timer_fn fn, void *arg, iocpnet_timer *out);

/* Stops a timer: once this returns, fn does not start again (a call already
 * running on another worker may finish). Works from inside fn. Destroy stops
 * every timer. Errors: INVALID_ARG, NOT_FOUND (unknown timer, or a one-shot
 * timer that already ran or was stopped). */
IOCPNET_API int IOCPNET_CALL iocpnet_timer_stop(iocpnet_port *port, iocpnet_timer timer);

/* -------------------------------------------------------------------- log */

enum { IOCPNET_LOG_ERROR = 0, IOCPNET_LOG_WARN = 1, IOCPNET_LOG_INFO = 2, IOCPNET_LOG_DEBUG = 3 };

typedef void(IOCPNET_CALL *iocpnet_log_fn)(void *user, uint32_t level, const char *message);

/* Sets the process-wide log hook: messages at `level` or more severe go to
 * fn, from whatever thread logs them. fn NULL turns logging off (the
 * default: the library prints nothing by itself). The hook runs without any
 * lock of the library held, so it may call any iocpnet function, this one
 * included; a message being delivered on another thread while this call
 * runs may still reach the previous hook. Errors: INVALID_ARG (level above
 * IOCPNET_LOG_DEBUG). */
IOCPNET_API int IOCPNET_CALL iocpnet_set_log(uint32_t level, iocpnet_log_fn fn, void *user);

/* -------------------------------------------------------------- WebSocket */
/*
 * IOCPNET_FRAMING_WEBSOCKET (listen_ex / connect_ex) speaks RFC 6455.
 *
 * Server side: the engine answers the HTTP/1.1 Upgrade request (a head of at
 * most 8 KiB; a malformed one gets "400 Bad Request", a wrong
 * Sec-WebSocket-Version "426", and the connection is closed without any
 * callback). on_accept comes only after a successful upgrade; from then on
 * iocpnet_ws_request_path / _header read the request. A plain GET (no
 * Upgrade header) is answered from the pages registered on the listener with
 * iocpnet_ws_add_page (else "404 Not Found") and closed, without callbacks.
 * Client side: connect_ex sends the Upgrade request (ws_host, ws_path of the
 * options) and checks the 101 reply; on_connect(IOCPNET_OK) comes after it.
 * A refused or broken handshake, or a close before it, gives on_connect with
 * the reason (IOCPNET_E_PROTOCOL for a refusal, SHUTTING_DOWN for a local
 * close) and no on_close. Client frames are masked (the payload is copied).
 *
 * Both sides: every iocpnet_send is one message (text or binary: see
 * iocpnet_ws_set_send_type; default binary) and every on_data is one whole
 * message, fragments reassembled, max_message_size applying to the whole
 * message. Pings are answered with pongs. A close frame from the peer is
 * answered with the same code and on_close(IOCPNET_E_PEER_CLOSED) follows.
 * iocpnet_close (GRACEFUL) sends a close frame (1000) after what is queued.
 * A peer that breaks the protocol gets on_framing_error and then a close
 * frame: IOCPNET_E_PROTOCOL with 1002 (an unmasked client frame, reserved
 * bits or opcodes, bad fragment order, a bad control frame) or 1007 (text
 * that is not UTF-8), IOCPNET_E_MESSAGE_TOO_LARGE with 1009; on_close then
 * has that reason. An idle timeout closes with 1001.
 * send_many shares one payload among server-side receivers: the frame
 * header lives beside each queue's reference, not in a copy.
 * With a TLS configuration in the same options (wss), the TLS handshake
 * comes first and the upgrade runs over it; on_accept / on_connect(OK) come
 * after both, and a graceful close sends the close frame, then close_notify.
 */

enum { IOCPNET_WS_TEXT = 1, IOCPNET_WS_BINARY = 2 };

/* Whether later sends on conn go as text or binary frames (the engine does
 * not check that text is UTF-8). Any thread. Errors: INVALID_ARG (type, or
 * conn is not a WebSocket connection), NOT_FOUND. */
IOCPNET_API int IOCPNET_CALL iocpnet_ws_set_send_type(iocpnet_port *port, iocpnet_conn conn, uint32_t type);

/* The type (IOCPNET_WS_TEXT or _BINARY) of the message on_data is
 * delivering; meant to be called inside on_data (elsewhere: the last one
 * delivered, 0 before any). Errors: INVALID_ARG (NULL, not a WebSocket
 * connection), NOT_FOUND. */
IOCPNET_API int IOCPNET_CALL iocpnet_ws_message_type(iocpnet_port *port, iocpnet_conn conn, uint32_t *out);

/* The request target of an accepted WebSocket connection ("/ws?room=1", as
 * sent), NUL-terminated into buf; from on_accept until on_close returned.
 * Any thread. Errors: INVALID_ARG (NULL, not an accepted WebSocket
 * connection), NOT_FOUND, LIMIT (buflen too small). */
IOCPNET_API int IOCPNET_CALL iocpnet_ws_request_path(iocpnet_port *port, iocpnet_conn conn, char *buf,
                                                     size_t buflen);

/* The value of the first request header called name (case-insensitive, e.g.
 * "Origin", "Cookie", "Sec-WebSocket-Protocol"), as iocpnet_ws_request_path.
 * Errors: as iocpnet_ws_request_path, and NOT_FOUND when the request had no
 * such header. */
IOCPNET_API int IOCPNET_CALL iocpnet_ws_request_header(iocpnet_port *port, iocpnet_conn conn, const char *name,
                                                       char *buf, size_t buflen);

/* Registers a page that a plain GET of path (exact match, the query string
 * ignored) on a WEBSOCKET listener gets as "200 OK" with content_type; body
 * is copied; a second call for the same path replaces it. Any thread; it
 * applies to requests parsed after it returns. Errors: INVALID_ARG (NULL
 * path or content_type, path not starting with '/', body NULL with len > 0,
 * listener not a WEBSOCKET one), NOT_FOUND (listener), NO_MEMORY. */
IOCPNET_API int IOCPNET_CALL iocpnet_ws_add_page(iocpnet_port *port, iocpnet_listener listener, const char *path,
                                                 const char *content_type, const void *body, size_t len);

/* -------------------------------------------------------------------- TLS */

/* TLS is a layer of a connection's byte pipeline: the engine encrypts what is
 * sent and decrypts what arrives; framing, send_many (each receiver encrypts
 * its own copy), backpressure, timeouts and on_drain work as on plain TCP,
 * and max_send_queue_bytes counts plaintext. TLS 1.2 and 1.3 with OpenSSL 3
 * on every platform: Debian's on Linux, linked statically into iocpnet.dll
 * on Windows (where a client that names no CA trusts the Windows ROOT
 * certificate store).
 *
 * Handshake. on_accept and on_connect(IOCPNET_OK) come after the handshake.
 * A failed client handshake gives on_connect(IOCPNET_E_TLS) (the reason text
 * via iocpnet_conn_tls_info(..., IOCPNET_TLS_INFO_ERROR, ...) inside that
 * callback); an incoming connection whose handshake fails or does not finish
 * within the connect timeout (connect_timeout_ms, or 10 s when it is 0) is
 * closed without any callback, counted in iocpnet_stats.tls_handshakes_failed
 * and logged at IOCPNET_LOG_WARN. A client's handshake has the same deadline
 * and fails with on_connect(IOCPNET_E_TIMEOUT). With TLS 1.3 a server that
 * requires client certificates may refuse one only after the client saw its
 * handshake complete: the client then gets on_connect(IOCPNET_OK) followed
 * by on_close(IOCPNET_E_TLS). After the handshake a broken record or a fatal
 * alert closes the connection with on_close(IOCPNET_E_TLS); the peer's
 * close_notify gives on_close(IOCPNET_E_PEER_CLOSED). A graceful close sends
 * close_notify before the TCP shutdown; an abort does not. */

enum { IOCPNET_TLS_SERVER = 0, IOCPNET_TLS_CLIENT = 1 };

typedef struct iocpnet_tls_options {
    uint32_t struct_size;     /* set by iocpnet_tls_options_init */
    uint32_t role;            /* IOCPNET_TLS_SERVER or IOCPNET_TLS_CLIENT */
    const char *cert_pem;     /* certificate chain as PEM text, or NULL and cert_file */
    const char *key_pem;      /* private key as PEM text, or NULL and key_file */
    const char *cert_file;    /* PEM file paths (UTF-8) */
    const char *key_file;
    const char *ca_pem;       /* trusted CAs as PEM text, or NULL and ca_file; client: both NULL = the system's store;
                                 server: set = require and verify client certificates */
    const char *ca_file;
    uint32_t verify_peer;     /* client: 1 (default) = verify the chain and the host name */
    const char *alpn;         /* comma-separated protocol list ("h2,http/1.1"), NULL = none */
    /* new fields are only ever appended */
} iocpnet_tls_options;

/* Fills *opt with the defaults (role SERVER, verify_peer 1, every string
 * NULL) and sets struct_size. NULL is ignored. */
IOCPNET_API void IOCPNET_CALL iocpnet_tls_options_init(iocpnet_tls_options *opt);

/* Creates a TLS configuration: certificate and key (required for a server,
 * optional for a client: its client certificate), trusted CAs, verification
 * and ALPN. Everything is copied: the strings may be freed when it returns.
 * The result starts with one reference, the caller's.
 * Errors: INVALID_ARG (NULL, bad struct_size or role, a server without a
 * certificate or key, a malformed ALPN list), TLS (unreadable or malformed
 * PEM, a key that does not match the certificate: the detail is in
 * iocpnet_last_error_message; also a client naming no CA whose system
 * store cannot be opened), NO_MEMORY. Any thread. */
IOCPNET_API int IOCPNET_CALL iocpnet_tls_create(const iocpnet_tls_options *opt, iocpnet_tls **out);

/* Drops the caller's reference. Listeners and connections still using the
 * configuration hold their own and keep it alive; it is freed with the last.
 * Errors: INVALID_ARG (NULL). Any thread. */
IOCPNET_API int IOCPNET_CALL iocpnet_tls_release(iocpnet_tls *tls);

/* What iocpnet_conn_tls_info reports. */
enum {
    IOCPNET_TLS_INFO_VERSION = 0,      /* "TLSv1.3", "TLSv1.2" */
    IOCPNET_TLS_INFO_CIPHER = 1,       /* "TLS_AES_256_GCM_SHA384" */
    IOCPNET_TLS_INFO_ALPN = 2,         /* the negotiated protocol, "" when none */
    IOCPNET_TLS_INFO_PEER_SUBJECT = 3, /* the peer certificate's subject ("CN=localhost,O=iocpnet"), "" when none */
    IOCPNET_TLS_INFO_ERROR = 4         /* why the handshake or the session failed, "" when it did not */
};

/* Writes one fact about a TLS connection's session into buf as a
 * NUL-terminated string: the first four once the handshake is done ("" before),
 * the error text once it failed. Works like get_user: while the connection
 * is open, closing, and inside its on_close or failed on_connect.
 * Errors: INVALID_ARG (port or buf NULL, buflen 0, unknown `what`),
 * NOT_FOUND, UNSUPPORTED (a plain TCP connection), LIMIT (buflen too small:
 * buf gets "" ). Any thread. */
IOCPNET_API int IOCPNET_CALL iocpnet_conn_tls_info(iocpnet_port *port, iocpnet_conn conn, uint32_t what, char *buf,
                                                   size_t buflen);

#ifdef __cplusplus
}
#endif
#endif /* IOCPNET_IOCPNET_H */
