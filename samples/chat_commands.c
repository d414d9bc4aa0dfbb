/*
 * chat_commands — what the chat server does with a line that starts with
 * "/": /nick, /join, /msg, /who, /rooms, /quit (the protocol is described at
 * the top of chat_server.c). With --redis, /nick asks Redis first and
 * finishes in chat_nick_claimed; the other commands read the registry,
 * which holds the other servers' members too.
 */
#include "chat_server.h"

static void cmd_nick(member *m, const char *arg, size_t len)
{
    char name[MAX_NICK + 1], old[MAX_NICK + 1], room[MAX_ROOM + 1], line[2 * MAX_NICK + 32];
    const char *error = NULL;
    int on_bus = 0;
    if (!rooms_valid_name(arg, len, MAX_NICK)) {
        chat_send_text(m->conn, "! invalid nick: use 1 to 32 of A-Z a-z 0-9 _ -");
        return;
    }
    memcpy(name, arg, len);
    name[len] = '\0';
    ON_BUS(on_bus = 1);
    if (on_bus && strncmp(name, "guest-", 6) == 0) {
        chat_send_text(m->conn, "! guest names are given by the server");
        return;
    }
    rooms_lock();
    if (strcmp(m->nick, name) == 0) error = "! that is already your nick";
    else if (rooms_find_nick_locked(name, NULL) != 0) error = "! that nick is taken";
    else if (m->nick_pending) error = "! a nick change is already under way";
    else if (on_bus) m->nick_pending = 1; /* Redis decides: chat_nick_claimed */
    else {
        strcpy(old, m->nick);
        strcpy(m->nick, name);
        strcpy(room, m->room);
    }
    rooms_unlock();
    if (error != NULL) {
        chat_send_text(m->conn, error);
        return;
    }
#ifdef CHAT_REDIS
    if (on_bus) {
        if (bus_claim_nick(m->conn, name) != 0) {
            rooms_lock();
            m->nick_pending = 0;
            rooms_unlock();
            chat_send_text(m->conn, "! nicks cannot change while Redis is unreachable");
        }
        return;
    }
#endif
    /* the others first: once the sender reads its confirmation, everyone
     * else has the news queued */
    snprintf(line, sizeof line, "%s is now ", old);
    chat_announce(room, m, line, name);
    snprintf(line, sizeof line, "* you are now %s", name);
    chat_send_text(m->conn, line);
}

#ifdef CHAT_REDIS
void chat_nick_claimed(iocpnet_conn conn, const char *name, int ok)
{
    char old[MAX_NICK + 1], room[MAX_ROOM + 1], line[2 * MAX_NICK + 32];
    member *m;
    rooms_lock();
    m = rooms_find_conn_locked(conn);
    if (m == NULL || !ok) { /* gone meanwhile: give the nick back */
        if (m == NULL && ok) bus_release_nick_locked(name);
        if (m != NULL) m->nick_pending = 0;
        rooms_unlock();
        if (m != NULL) chat_send_text(conn, ok < 0 ? "! nicks cannot change while Redis is unreachable"
                                              : "! that nick is taken");
        return;
    }
    strcpy(old, m->nick);
    strcpy(m->nick, name);
    strcpy(room, m->room);
    m->nick_pending = 0;
    bus_renamed_locked(old, name, room);
    if (strncmp(old, "guest-", 6) != 0) bus_release_nick_locked(old);
    rooms_unlock();
    snprintf(line, sizeof line, "%s is now ", old);
    chat_announce(room, m, line, name);
    snprintf(line, sizeof line, "* you are now %s", name);
    chat_send_text(conn, line);
}
#endif

static void cmd_join(member *m, const char *arg, size_t len)
{
    char room[MAX_ROOM + 1], old[MAX_ROOM + 1], nick[MAX_NICK + 1], line[MAX_NICK + MAX_ROOM + 32];
    iocpnet_conn *left_ids = NULL, *joined_ids = NULL;
    size_t nl = 0, nj = 0;
    int same;
    if (!rooms_valid_name(arg, len, MAX_ROOM)) {
        chat_send_text(m->conn, "! invalid room: use 1 to 32 of A-Z a-z 0-9 _ -");
        return;
    }
    memcpy(room, arg, len);
    room[len] = '\0';
    rooms_lock();
    same = strcmp(m->room, room) == 0;
    if (!same) {
        strcpy(old, m->room);
        strcpy(m->room, room);
        strcpy(nick, m->nick);
        if (!chat_shutting_down_locked()) {
            left_ids = rooms_receivers_locked(old, m, &nl);
            joined_ids = rooms_receivers_locked(room, m, &nj);
        }
        ON_BUS(bus_moved_locked(nick, old, room));
    }
    rooms_unlock();
    if (same) {
        chat_send_text(m->conn, "! you are already in that room");
        return;
    }
    snprintf(line, sizeof line, "* %s moved to %s", nick, room);
    chat_broadcast(left_ids, nl, line, strlen(line));
    snprintf(line, sizeof line, "* %s joined", nick);
    chat_broadcast(joined_ids, nj, line, strlen(line));
    free(left_ids);
    free(joined_ids);
    snprintf(line, sizeof line, "* you are now in %s", room);
    chat_send_text(m->conn, line);
}

static void cmd_msg(member *m, const char *arg, size_t len)
{
    char to[MAX_NICK + 1], line[MAX_NICK + 12 + MAX_LINE + 1];
    size_t nick_len = 0, text;
    member *target = NULL;
    iocpnet_conn target_conn = 0;
    int where, out;
    while (nick_len < len && arg[nick_len] != ' ') nick_len++;
    text = nick_len;
    while (text < len && arg[text] == ' ') text++;
    if (nick_len == 0 || text == len) {
        chat_send_text(m->conn, "! usage: /msg NICK TEXT");
        return;
    }
    if (!rooms_valid_name(arg, nick_len, MAX_NICK)) {
        chat_send_text(m->conn, "! no such nick");
        return;
    }
    memcpy(to, arg, nick_len);
    to[nick_len] = '\0';
    rooms_lock();
    out = snprintf(line, sizeof line, "%s (private): ", m->nick);
    where = rooms_find_nick_locked(to, &target);
    if (where == 1 && target->joined) target_conn = target->conn;
    else if (where == 1) where = 0;
    ON_BUS(if (where == 2) bus_private_locked(to, m->nick, arg + text, len - text));
    rooms_unlock();
    if (where == 0) chat_send_text(m->conn, "! no such nick");
    else if (where == 1) {
        memcpy(line + out, arg + text, len - text); /* a line is at most MAX_LINE: it fits */
        chat_send_line(target_conn, line, (size_t)out + len - text);
    }
}

static void send_who(member *m)
{
    char room[MAX_ROOM + 1], *line;
    size_t len = 0;
    rooms_lock();
    strcpy(room, m->room);
    rooms_unlock();
    line = rooms_who_line(room, &len);
    if (line != NULL) chat_send_line(m->conn, line, len);
    free(line);
}

static void send_rooms(member *m)
{
    size_t len = 0;
    char *line = rooms_rooms_line(&len);
    if (line != NULL) chat_send_line(m->conn, line, len);
    free(line);
}

void chat_command(member *m, const char *s, size_t len)
{
    size_t cmd_len = 0, arg = 0, end = len;
    while (cmd_len < len && s[cmd_len] != ' ') cmd_len++;
    arg = cmd_len;
    while (arg < end && s[arg] == ' ') arg++;
    while (end > arg && (s[end - 1] == ' ' || s[end - 1] == '\t')) end--;
    if (cmd_len == 5 && memcmp(s, "/nick", 5) == 0) cmd_nick(m, s + arg, end - arg);
    else if (cmd_len == 5 && memcmp(s, "/join", 5) == 0) cmd_join(m, s + arg, end - arg);
    else if (cmd_len == 4 && memcmp(s, "/msg", 4) == 0) cmd_msg(m, s + arg, len - arg);
    else if (cmd_len == 4 && memcmp(s, "/who", 4) == 0) send_who(m);
    else if (cmd_len == 6 && memcmp(s, "/rooms", 6) == 0) send_rooms(m);
    else if (cmd_len == 5 && memcmp(s, "/quit", 5) == 0) iocpnet_close(chat_port, m->conn, IOCPNET_CLOSE_GRACEFUL);
    else chat_send_text(m->conn, "! unknown command");
}
