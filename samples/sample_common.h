/*
 * Small helpers shared by the iocpnet samples: command-line options, a
 * mutex, a sleep, and waiting for Ctrl-C / SIGTERM. Header-only so that each
 * sample stays one .c file plus this. Portable C99: POSIX and Windows.
 */
#ifndef IOCPNET_SAMPLE_COMMON_H
#define IOCPNET_SAMPLE_COMMON_H

#ifndef _WIN32
#  ifndef _POSIX_C_SOURCE
#    define _POSIX_C_SOURCE 200809L /* sigwait, pthread_sigmask, nanosleep */
#  endif
#endif

#include <iocpnet/iocpnet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#  include <windows.h>
#else
#  include <pthread.h>
#  include <signal.h>
#  include <time.h>
#endif

/* ------------------------------------------------------------- options */

typedef struct sample_options {
    const char *host;         /* --host, default given by the sample */
    unsigned port;            /* --port, default 9034; 0 = ephemeral */
    unsigned threads;         /* --threads, 0 = one per core */
    uint32_t backend;         /* --backend auto|io_uring|epoll|iocp */
    unsigned idle_timeout_s;  /* --idle-timeout SECONDS (chat only), 0 = off */
    unsigned max_queue;       /* --max-queue BYTES per connection, 0 = the engine's default (4 MiB) */
    const char *tls_cert;     /* servers: --tls-cert FILE (PEM chain); with --tls-key: serve TLS */
    const char *tls_key;      /* servers: --tls-key FILE (PEM) */
    int tls;                  /* clients: --tls */
    const char *tls_ca;       /* clients: --ca FILE (PEM), default the system's store */
    int tls_insecure;         /* clients: --insecure: no certificate or name verification */
} sample_options;

static inline int sample_parse_uint(const char *s, unsigned long max, unsigned *out)
{
    char *end = NULL;
    unsigned long v;
    if (s == NULL || *s == '\0' || *s == '-') return -1;
    v = strtoul(s, &end, 10);
    if (*end != '\0' || v > max) return -1;
    *out = (unsigned)v;
    return 0;
}

static inline const char *sample_backend_name(uint32_t b)
{
    switch (b) {
    case IOCPNET_BACKEND_IOCP: return "iocp";
    case IOCPNET_BACKEND_IO_URING: return "io_uring";
    case IOCPNET_BACKEND_EPOLL: return "epoll";
    default: return "auto";
    }
}

/* Parses argv into *o. allow_idle enables --idle-timeout. Returns 0, or
 * prints usage and returns -1. */
static inline int sample_parse_options(int argc, char **argv, sample_options *o, const char *default_host,
                                       int allow_idle)
{
    int i;
    o->host = default_host;
    o->port = 9034;
    o->threads = 0;
    o->backend = IOCPNET_BACKEND_AUTO;
    o->idle_timeout_s = 0;
    o->max_queue = 0;
    o->tls_cert = o->tls_key = o->tls_ca = NULL;
    o->tls = o->tls_insecure = 0;
    for (i = 1; i < argc; i += 2) { /* every option takes a value, but the flags (i-- below) */
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 0;
        if (strcmp(a, "--tls") == 0 || strcmp(a, "--insecure") == 0) {
            if (a[2] == 't') o->tls = 1;
            else o->tls_insecure = 1;
            ok = 1;
            i--;
        } else if (strcmp(a, "--tls-cert") == 0 && v) {
            o->tls_cert = v;
            ok = 1;
        } else if (strcmp(a, "--tls-key") == 0 && v) {
            o->tls_key = v;
            ok = 1;
        } else if (strcmp(a, "--ca") == 0 && v) {
            o->tls_ca = v;
            ok = 1;
        } else if (strcmp(a, "--host") == 0 && v) {
            o->host = v;
            ok = 1;
        } else if (strcmp(a, "--port") == 0) {
            ok = sample_parse_uint(v, 65535, &o->port) == 0;
        } else if (strcmp(a, "--threads") == 0) {
            ok = sample_parse_uint(v, 1024, &o->threads) == 0;
        } else if (strcmp(a, "--max-queue") == 0) {
            ok = sample_parse_uint(v, 1ul << 30, &o->max_queue) == 0;
        } else if (allow_idle && strcmp(a, "--idle-timeout") == 0) {
            ok = sample_parse_uint(v, 86400, &o->idle_timeout_s) == 0;
        } else if (strcmp(a, "--backend") == 0 && v) {
            ok = 1;
            if (strcmp(v, "auto") == 0) o->backend = IOCPNET_BACKEND_AUTO;
            else if (strcmp(v, "io_uring") == 0) o->backend = IOCPNET_BACKEND_IO_URING;
            else if (strcmp(v, "epoll") == 0) o->backend = IOCPNET_BACKEND_EPOLL;
            else if (strcmp(v, "iocp") == 0) o->backend = IOCPNET_BACKEND_IOCP;
            else ok = 0;
        }
        if (!ok) {
            fprintf(stderr,
                    "usage: %s [--host ADDR] [--port N] [--threads N] "
                    "[--backend auto|io_uring|epoll|iocp] [--max-queue BYTES]%s "
                    "[--tls-cert FILE --tls-key FILE] [--tls [--ca FILE] [--insecure]]\n",
                    argv[0], allow_idle ? " [--idle-timeout SECONDS]" : "");
            return -1;
        }
    }
    if (!o->tls_cert != !o->tls_key) {
        fprintf(stderr, "%s: --tls-cert and --tls-key go together\n", argv[0]);
        return -1;
    }
    return 0;
}

/* Removes every `name` (a flag without a value, e.g. "--websocket") from
 * argv before sample_parse_options sees it; returns 1 if it was there. */
static inline int sample_take_flag(int *argc, char **argv, const char *name)
{
    int i, j, found = 0;
    for (i = 1; i < *argc; i++) {
        if (strcmp(argv[i], name) != 0) continue;
        for (j = i; j + 1 < *argc; j++) argv[j] = argv[j + 1];
        (*argc)--;
        i--;
        found = 1;
    }
    return found;
}

/* Prints "what: IOCPNET_E_X (message; detail)" to stderr. */
static inline void sample_report(const char *what, int err)
{
    const char *detail = iocpnet_last_error_message();
    fprintf(stderr, "%s: %s (%s%s%s)\n", what, iocpnet_err_name(err), iocpnet_strerror(err),
            *detail ? "; " : "", detail);
}

/* Engine log hook: warnings and errors go to stderr. */
static inline void IOCPNET_CALL sample_log(void *user, uint32_t level, const char *message)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    (void)user;
    fprintf(stderr, "iocpnet %s: %s\n", level <= IOCPNET_LOG_DEBUG ? names[level] : "?", message);
}

/* TLS from the options: a server configuration when --tls-cert/--tls-key
 * were given, a client one with --tls; *out stays NULL otherwise (plain
 * TCP). Release it with iocpnet_tls_release. Returns 0, or 1 after reporting. */
static inline int sample_tls(const sample_options *o, int server, iocpnet_tls **out)
{
    iocpnet_tls_options t;
    int rc;
    *out = NULL;
    if (server ? o->tls_cert == NULL : !o->tls) return 0;
    iocpnet_tls_options_init(&t);
    t.role = server ? IOCPNET_TLS_SERVER : IOCPNET_TLS_CLIENT;
    t.cert_file = o->tls_cert;
    t.key_file = o->tls_key;
    t.ca_file = server ? NULL : o->tls_ca;
    t.verify_peer = o->tls_insecure ? 0 : 1;
    rc = iocpnet_tls_create(&t, out);
    if (rc != IOCPNET_OK) {
        sample_report("iocpnet_tls_create", rc);
        return 1;
    }
    return 0;
}

/* The port configuration the command line asks for (--threads, --backend,
 * --max-queue; the engine's defaults otherwise) and callbacks with none set. */
static inline void sample_port_setup(const sample_options *o, iocpnet_config *cfg, iocpnet_callbacks *cbs)
{
    iocpnet_config_init(cfg);
    cfg->worker_threads = o->threads;
    cfg->backend = o->backend;
    cfg->max_send_queue_bytes = o->max_queue;
    memset(cbs, 0, sizeof *cbs);
    cbs->struct_size = sizeof *cbs;
}

/* Creates the port from the options, listens on --host/--port (with copt,
 * which may be NULL) and prints "listening on HOST:PORT" once ready: the
 * start-up every sample server shares. Returns 0, or 1 after reporting. */
static inline int sample_serve(const sample_options *o, const iocpnet_callbacks *cbs,
                               const iocpnet_config *cfg, const iocpnet_conn_options *copt,
                               iocpnet_port **port, iocpnet_listener *listener)
{
    uint16_t real_port = 0;
    int rc = iocpnet_port_create(cfg, cbs, NULL, port);
    if (rc != IOCPNET_OK) {
        sample_report("iocpnet_port_create", rc);
        return 1;
    }
    rc = iocpnet_listen_ex(*port, o->host, (uint16_t)o->port, copt, listener);
    if (rc == IOCPNET_OK) rc = iocpnet_listener_port(*port, *listener, &real_port);
    if (rc != IOCPNET_OK) {
        sample_report("iocpnet_listen", rc);
        iocpnet_port_destroy(*port);
        *port = NULL;
        return 1;
    }
    printf("listening on %s:%u\n", o->host, (unsigned)real_port);
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------- mutex and sleeping */

#ifdef _WIN32
typedef SRWLOCK sample_mutex;
static inline void sample_mutex_init(sample_mutex *m) { InitializeSRWLock(m); }
static inline void sample_mutex_lock(sample_mutex *m) { AcquireSRWLockExclusive(m); }
static inline void sample_mutex_unlock(sample_mutex *m) { ReleaseSRWLockExclusive(m); }
static inline void sample_sleep_ms(unsigned ms) { Sleep(ms); }
#else
typedef pthread_mutex_t sample_mutex;
static inline void sample_mutex_init(sample_mutex *m) { pthread_mutex_init(m, NULL); }
static inline void sample_mutex_lock(sample_mutex *m) { pthread_mutex_lock(m); }
static inline void sample_mutex_unlock(sample_mutex *m) { pthread_mutex_unlock(m); }
static inline void sample_sleep_ms(unsigned ms)
{
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}
#endif

/* ------------------------------------------------- Ctrl-C and SIGTERM */

/* Call sample_stop_signals_setup() first thing in main, before the port
 * exists, then sample_wait_for_stop() blocks until Ctrl-C or SIGTERM.
 *
 * POSIX: instead of a signal handler (which may only set a flag), SIGINT and
 * SIGTERM are blocked in main before the engine starts its threads (they
 * inherit the mask), and main takes them synchronously with sigwait, so no
 * engine thread is ever interrupted and no handler code runs at all.
 * Windows: a console control handler (run on its own thread) sets an event. */
#ifdef _WIN32
static HANDLE sample_stop_event;
static inline BOOL WINAPI sample_ctrl_handler(DWORD type)
{
    (void)type; /* Ctrl-C, Ctrl-Break, console close, logoff, shutdown */
    SetEvent(sample_stop_event);
    return TRUE;
}
static inline void sample_stop_signals_setup(void)
{
    sample_stop_event = CreateEventA(NULL, TRUE, FALSE, NULL);
    SetConsoleCtrlHandler(sample_ctrl_handler, TRUE);
}
static inline void sample_wait_for_stop(void) { WaitForSingleObject(sample_stop_event, INFINITE); }
#else
static sigset_t sample_stop_set;
static inline void sample_stop_signals_setup(void)
{
    sigemptyset(&sample_stop_set);
    sigaddset(&sample_stop_set, SIGINT);
    sigaddset(&sample_stop_set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sample_stop_set, NULL);
    signal(SIGPIPE, SIG_IGN); /* a write to a closed socket must not kill us */
}
static inline void sample_wait_for_stop(void)
{
    int sig = 0;
    while (sigwait(&sample_stop_set, &sig) != 0) {
    }
}
#endif

#endif /* IOCPNET_SAMPLE_COMMON_H */
