/* Compiled (not linked) by ctest as C99 and as C++17 with -Wall -Wextra
 * -pedantic -Werror: the public header must be clean in both languages. It
 * also pins the 1.0 layout of the public structs: fields are only ever
 * appended, so these offsets never change. */
#include <iocpnet/iocpnet.h>

#include <stddef.h>

#define HC_ASSERT(name, cond) typedef char hc_assert_##name[(cond) ? 1 : -1]

HC_ASSERT(config_backend, offsetof(iocpnet_config, backend) == 8);
HC_ASSERT(config_queue, offsetof(iocpnet_config, max_send_queue_bytes) == 16);
HC_ASSERT(config_idle, offsetof(iocpnet_config, idle_timeout_ms) == 24);
HC_ASSERT(config_keepalive, offsetof(iocpnet_config, keepalive_s) == 36);
HC_ASSERT(options_keepalive, offsetof(iocpnet_conn_options, keepalive_s) == 24);
HC_ASSERT(stats_backend, offsetof(iocpnet_stats, backend) == 4);
HC_ASSERT(stats_open, offsetof(iocpnet_stats, connections_open) == 8);
HC_ASSERT(stats_queue, offsetof(iocpnet_stats, send_queue_bytes) == 56);
HC_ASSERT(stats_tls, offsetof(iocpnet_stats, tls_handshakes_failed) == 64);
/* Appended to the options in merge order: half_open, ws_host, ws_path (ws), tls, server_name (tls). */
HC_ASSERT(options_ws_host, offsetof(iocpnet_conn_options, ws_host) == 32);
HC_ASSERT(options_tls, offsetof(iocpnet_conn_options, tls) == 32 + 2 * sizeof(void *));
HC_ASSERT(options_server_name, offsetof(iocpnet_conn_options, server_name) == 32 + 3 * sizeof(void *));
HC_ASSERT(callbacks_first, offsetof(iocpnet_callbacks, on_accept) == sizeof(void *));
HC_ASSERT(callbacks_framing, offsetof(iocpnet_callbacks, on_framing_error) == 6 * sizeof(void *));
HC_ASSERT(ids_64bit, sizeof(iocpnet_conn) == 8 && sizeof(iocpnet_listener) == 8);
HC_ASSERT(errors_negative, IOCPNET_E_INVALID_ARG < 0 && IOCPNET_E_UNREACHABLE < 0);

/* Every error of the table has a distinct value (a duplicate is a compile
 * error: two equal case labels). */
int hc_error_values_distinct(int e);
int hc_error_values_distinct(int e) {
    switch (e) {
    case IOCPNET_OK: return 0;
#define HC_XX(name, value, msg) case value: return 1;
        IOCPNET_ERRNO_MAP(HC_XX)
#undef HC_XX
    default: return -1;
    }
}

/* Each function is declared with the expected signature. */
typedef int(IOCPNET_CALL *hc_send_fn)(iocpnet_port *, iocpnet_conn, const void *, size_t);
typedef int(IOCPNET_CALL *hc_send_many_fn)(iocpnet_port *, const iocpnet_conn *, size_t, const void *, size_t, size_t *);
int hc_signatures(void);
int hc_signatures(void) {
    hc_send_fn s = iocpnet_send;
    hc_send_many_fn m = iocpnet_send_many;
    return s != 0 && m != 0;
}
