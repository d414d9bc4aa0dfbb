/*
 * chat_web — the chat in a web browser: chat_server --web-port PORT listens
 * there with WebSocket framing, serves a self-contained page (chat_web.html,
 * built in as chat_web_page.h) at GET /, and takes the chat at /ws: one text
 * message is one chat line, in the same room and protocol as the TCP
 * clients, through the same callbacks (the engine delivers one message per
 * on_data for both framings, and a send is one line or one message).
 */
#ifndef CHAT_WEB_H
#define CHAT_WEB_H

#include <iocpnet/iocpnet.h>

/* Takes "--web-port PORT" out of argv (so the common option parser never
 * sees it). *enabled = 1 and *port set when it was given (0 = ephemeral).
 * Returns 0, or -1 on a bad value (a usage message was printed). */
int chat_web_take_option(int *argc, char **argv, int *enabled, unsigned *port);

/* Listens on host:port for browsers, registers the page, prints
 * "web chat on http://HOST:PORT/" (https with tls: a TLS server
 * configuration, or NULL). max_line bounds a message like a line.
 * Returns 0, or -1 (reported on stderr). */
int chat_web_listen(iocpnet_port *port, const char *host, unsigned tcp_port, uint32_t max_line, iocpnet_tls *tls,
                    iocpnet_listener *out);

/* From on_accept: 1 when conn is a chat member (a TCP client, or a browser
 * at /ws: its sends are text from now on), 0 when it was a WebSocket at
 * another path and has been closed. */
int chat_web_accept(iocpnet_port *port, iocpnet_conn conn);

#endif
