"""End-to-end tests of the chat server's rooms and private messages (one
server): /join, /rooms, /msg, and announcements that reach one room only.
Every check reads the exact lines each client gets; a /who round trip marks
the point by which everything before it has arrived (the server answers a
command after queuing what the command caused)."""
import unittest

from harness import Program, Server, chat_client, who


class ChatRooms(unittest.TestCase):
    def setUp(self):
        self.server = Server("chat_server")
        self.clients = []

    def tearDown(self):
        for c in self.clients:
            c.close()
        self.server.stop()

    def client(self, nick=None):
        """A new client; the others' news of it (join, nick) is read and
        dropped, so every test starts from quiet clients."""
        c = chat_client(self.server.port, nick)
        for old in self.clients:
            who(old)
        self.clients.append(c)
        return c

    def quiet(self, c):
        """Asserts that c received nothing since its last read: everything
        sent to it before now has arrived once its /who reply has."""
        before, _ = who(c)
        self.assertEqual(before, [], "%s got unexpected lines" % c.nick)

    def join(self, c, room):
        c.send_line("/join " + room)
        c.expect("* you are now in " + room)

    def test_join_moves_announcements_and_lines(self):
        a, b, c = self.client("alice"), self.client("bob"), self.client("carol")
        self.join(a, "games")
        b.expect("* alice moved to games")
        c.expect("* alice moved to games")
        self.join(b, "games")
        a.expect("* bob joined")  # the new room hears a join
        c.expect("* bob moved to games")  # the old room a move
        a.send_line("anyone for chess?")
        b.expect("alice: anyone for chess?")
        c.send_line("lonely in the lobby")
        for x in (a, b, c):
            self.quiet(x)  # carol's line went to nobody: she is alone in lobby
        _, online = who(b)
        self.assertEqual(online, "* online: alice, bob")
        _, online = who(c)
        self.assertEqual(online, "* online: carol")

    def test_who_and_rooms_sorted(self):
        names = ["zed", "amy", "kim", "bo", "eve"]
        cs = [self.client(n) for n in names]
        for c, room in zip(cs, ["music", "games", "music", "art", None]):
            if room:
                c.send_line("/join " + room)
                c.read_until("* you are now in " + room)  # after others' moves
        eve = cs[4]
        eve.send_line("/rooms")
        eve.read_until("* rooms: art (1), games (1), lobby (1), music (2)")
        _, online = who(cs[0])
        self.assertEqual(online, "* online: kim, zed")
        self.join(eve, "music")
        eve.send_line("/rooms")
        # lobby is gone: only rooms with members are listed
        eve.expect("* rooms: art (1), games (1), music (3)")
        _, online = who(eve)
        self.assertEqual(online, "* online: eve, kim, zed")

    def test_join_errors(self):
        a, b = self.client("alice"), self.client("bob")
        for bad in ["", "two words", "x" * 33, "caf\u00e9", "a/b"]:
            a.send_line("/join " + bad)
            self.assertTrue(a.read_line().startswith("! "), bad)
        a.send_line("/join lobby")
        self.assertEqual(a.read_line(), "! you are already in that room")
        self.join(a, "R" * 32)
        before, _ = who(b)  # nothing of the refusals reached bob; the move did
        self.assertEqual(before, ["* alice moved to " + "R" * 32])
        a.send_line("/join " + "R" * 32)
        self.assertTrue(a.read_line().startswith("! "))

    def test_private_messages(self):
        a, b, c = self.client("alice"), self.client("bob"), self.client("carol")
        self.join(c, "games")
        a.expect("* carol moved to games")
        b.expect("* carol moved to games")
        a.send_line("/msg carol psst, across rooms")
        c.expect("alice (private): psst, across rooms")
        a.send_line("/msg bob  two  spaces kept ")
        b.expect("alice (private): two  spaces kept ")
        self.quiet(a)  # the sender gets nothing back
        self.quiet(c)
        a.send_line("/msg nobody hello")
        a.expect("! no such nick")
        a.send_line("/msg bob")
        a.expect("! usage: /msg NICK TEXT")
        a.send_line("/msg")
        a.expect("! usage: /msg NICK TEXT")
        self.quiet(b)

    def test_left_and_nick_reach_the_room_only(self):
        a, b, c = self.client("alice"), self.client("bob"), self.client("carol")
        self.join(a, "games")
        b.expect("* alice moved to games")
        c.expect("* alice moved to games")
        self.join(b, "games")
        c.expect("* bob moved to games")
        a.expect("* bob joined")
        a.send_line("/nick alicia")
        a.expect("* you are now alicia")
        b.expect("* alice is now alicia")
        b.send_line("/quit")
        self.assertTrue(b.wait_closed())
        a.expect("* bob left")
        self.quiet(c)  # carol, in lobby, heard neither
        self.quiet(a)

    def test_newcomers_join_the_lobby_only(self):
        a, b = self.client("alice"), self.client("bob")
        self.join(a, "games")
        b.expect("* alice moved to games")
        c = chat_client(self.server.port, "carol")  # guest-3: numbered from 1 per server
        self.clients.append(c)
        b.expect("* guest-3 joined")
        b.expect("* guest-3 is now carol")
        self.quiet(a)  # the join and the nick went to lobby only
        _, online = who(c)
        self.assertEqual(online, "* online: bob, carol")

    def test_chat_client_passes_commands_through(self):
        a = self.client("alice")
        p = Program("chat_client", ["--host", "127.0.0.1", "--port", str(self.server.port)], stdin=True)
        try:
            self.assertRegex(p.out.next(), r"^\* welcome guest-\d+$")
            for line in ("/join games", "/rooms", "/msg alice hi from the client"):
                p.proc.stdin.write(line.encode() + b"\n")
            p.proc.stdin.flush()
            self.assertEqual(p.out.next(), "* you are now in games")
            self.assertEqual(p.out.next(), "* rooms: games (1), lobby (1)")
            a.read_until("guest-2 (private): hi from the client")
        finally:
            p.stop()
