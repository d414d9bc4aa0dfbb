/*
 * thread_echo — the thread-per-connection model that completion ports were
 * made to replace: the main thread blocks in accept(), and each connection
 * gets its own thread that blocks in read() and then write()s the same bytes
 * back. No event loop, no readiness: the kernel's scheduler is the
 * multiplexer, one context switch per message per connection. 1,000
 * connections are 1,000 threads (64 KiB stacks here, so that memory is not
 * what limits it). Options as ref_common.h describes.
 */
#include "ref_common.h"
#include <pthread.h>

static void *serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[16384 + 4096];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        for (ssize_t off = 0; off < r;) { /* blocking: write returns when the socket took it all */
            ssize_t w = write(fd, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) goto done;
            off += w;
        }
    }
done:
    close(fd);
    return NULL;
}

int main(int argc, char **argv) {
    const char *host; int port;
    ref_parse(argc, argv, &host, &port);
    ref_install_signals();
    int lfd = ref_listen(host, port, 0);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 << 10);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* Connection threads inherit a mask with SIGTERM/SIGINT blocked, so the
     * signal interrupts the main thread's accept() and nothing else. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    while (!ref_stop) {
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            ref_die("accept");
        }
        ref_nodelay(fd);
        pthread_t t;
        pthread_sigmask(SIG_BLOCK, &stop, &old);
        int rc = pthread_create(&t, &attr, serve, (void *)(intptr_t)fd);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc) { fprintf(stderr, "pthread_create: %s\n", strerror(rc)); close(fd); }
    }
    return 0; /* exiting the process ends the connection threads */
}
