/* A program as a user of the installed iocpnet writes it: one port, a
 * listener on 127.0.0.1:0, a connection to it, one message echoed back.
 * Prints the library version and "echo ok"; exits 0 on success. */
#define _POSIX_C_SOURCE 200809L /* nanosleep under -std=c11 */
#include <iocpnet/iocpnet.h>

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static atomic_int g_connected, g_failed, g_echoed;
static char g_reply[64];
static atomic_size_t g_reply_len;
static iocpnet_conn g_client;

static void IOCPNET_CALL on_connect(void *user, iocpnet_port *port, iocpnet_conn conn, int status) {
    (void)user, (void)port, (void)conn;
    if (status == IOCPNET_OK) atomic_store(&g_connected, 1);
    else atomic_store(&g_failed, status);
}

static void IOCPNET_CALL on_data(void *user, iocpnet_port *port, iocpnet_conn conn, const uint8_t *data, size_t len) {
    (void)user;
    if (conn != g_client) { /* the server side: echo */
        iocpnet_send(port, conn, data, len);
        return;
    }
    size_t have = atomic_load(&g_reply_len);
    if (have + len < sizeof g_reply) {
        memcpy(g_reply + have, data, len);
        atomic_store(&g_reply_len, have + len);
        if (have + len >= 5) atomic_store(&g_echoed, 1);
    }
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int main(void) {
    uint32_t v = iocpnet_version();
    printf("iocpnet %u.%u.%u\n", (unsigned)(v >> 16), (unsigned)((v >> 8) & 0xff), (unsigned)(v & 0xff));
    if (v >> 16 != IOCPNET_VERSION_MAJOR) {
        fprintf(stderr, "header major %d, library %u\n", IOCPNET_VERSION_MAJOR, (unsigned)(v >> 16));
        return 1;
    }
    iocpnet_callbacks cbs;
    memset(&cbs, 0, sizeof cbs);
    cbs.struct_size = sizeof cbs;
    cbs.on_connect = on_connect;
    cbs.on_data = on_data;
    iocpnet_port *port = NULL;
    int rc = iocpnet_port_create(NULL, &cbs, NULL, &port);
    if (rc) { fprintf(stderr, "port_create: %s\n", iocpnet_strerror(rc)); return 1; }
    iocpnet_listener l;
    uint16_t tcp_port = 0;
    rc = iocpnet_listen(port, "127.0.0.1", 0, &l);
    if (!rc) rc = iocpnet_listener_port(port, l, &tcp_port);
    if (!rc) rc = iocpnet_connect(port, "127.0.0.1", tcp_port, &g_client);
    if (!rc) rc = iocpnet_send(port, g_client, "hello", 5);
    if (rc) { fprintf(stderr, "setup: %s (%s)\n", iocpnet_strerror(rc), iocpnet_last_error_message()); return 1; }
    for (int i = 0; i < 3000 && !atomic_load(&g_echoed) && !atomic_load(&g_failed); i++) sleep_ms(10);
    int ok = atomic_load(&g_connected) && atomic_load(&g_echoed) && memcmp(g_reply, "hello", 5) == 0;
    rc = iocpnet_port_destroy(port);
    if (!ok || rc) {
        fprintf(stderr, "no echo (connected %d, connect error %d, destroy %d)\n", atomic_load(&g_connected),
                atomic_load(&g_failed), rc);
        return 1;
    }
    printf("echo ok\n");
    return 0;
}
