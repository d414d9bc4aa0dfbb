/*
 * The command line, listening socket and SIGTERM handling shared by the plain
 * reference echo servers (raw_uring_echo, raw_epoll_echo, thread_echo,
 * select_echo), so that they take the iocpnet samples' options:
 *   --host H (default 0.0.0.0)  --port P (default 9034, 0 = ephemeral)
 *   --threads N and --backend B are accepted and ignored: each of these
 *   servers is one I/O model by design.
 * They print "listening on HOST:PORT" once ready and exit 0 on SIGTERM/SIGINT.
 */
#ifndef BENCH_REF_COMMON_H
#define BENCH_REF_COMMON_H

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t ref_stop; /* set by SIGTERM/SIGINT */

static void ref_on_signal(int sig) { (void)sig; ref_stop = 1; }

static void ref_die(const char *what) {
    fprintf(stderr, "%s: %s\n", what, strerror(errno));
    exit(1);
}

/* No SA_RESTART: a blocking wait returns EINTR, and the loop sees ref_stop. */
static void ref_install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = ref_on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN); /* a peer that vanished is an EPIPE, not a death */
    /* 1,000 connections need more than the usual soft limit of 1,024 descriptors. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) { rl.rlim_cur = rl.rlim_max; setrlimit(RLIMIT_NOFILE, &rl); }
}

static void ref_parse(int argc, char **argv, const char **host, int *port) {
    *host = "0.0.0.0";
    *port = 9034;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) { fprintf(stderr, "missing value for %s\n", a); exit(2); }
        const char *v = argv[++i];
        if (!strcmp(a, "--host")) *host = v;
        else if (!strcmp(a, "--port")) *port = atoi(v);
        else if (!strcmp(a, "--threads") || !strcmp(a, "--backend")) (void)v;
        else { fprintf(stderr, "unknown option %s\n", a); exit(2); }
    }
}

/* A listening IPv4 socket (flags e.g. SOCK_NONBLOCK), after printing the line
 * the benchmark script waits for. */
static int ref_listen(const char *host, int port, int flags) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) { fprintf(stderr, "bad host %s\n", host); exit(2); }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | flags, 0);
    if (fd < 0) ref_die("socket");
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) ref_die("bind");
    if (listen(fd, 4096) < 0) ref_die("listen"); /* deep: 1,000 clients connect at once */
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    char name[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.sin_addr, name, sizeof name);
    printf("listening on %s:%d\n", name, ntohs(sa.sin_port));
    fflush(stdout);
    return fd;
}

static void ref_nodelay(int fd) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

#endif
