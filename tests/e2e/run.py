#!/usr/bin/env python3
"""Runs the end-to-end tests of the samples.

  run.py --chat-server PATH [--chat-client PATH] [--echo-server PATH]
         [--relay-server PATH] [--stress-client PATH] [--proxy-server PATH]
         [--backend NAME] [--wrapper "wine"]
         [--stop-signal TERM|INT] [GROUP ...]

GROUP is a test class (ChatBasics, ChatOrder, ..., Echo, Relay, ChatClient, Stress, Proxy*);
none = all (ChatTls needs IOCPNET_TEST_CERTS). --wrapper prefixes every command, e.g. to run .exe files under
Wine. Exit status 0 only when every selected test passed.
"""
import argparse
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("chat-server", "chat-client", "echo-server", "relay-server", "stress-client", "proxy-server"):
        ap.add_argument("--" + name, metavar="PATH")
    ap.add_argument("--backend", help="passed to every sample as --backend")
    ap.add_argument("--wrapper", default="", help='command prefix, e.g. "wine"')
    ap.add_argument("--stop-signal", default="TERM", choices=("TERM", "INT"),
                    help="signal that asks a server to shut down (default TERM)")
    ap.add_argument("groups", nargs="*")
    args = ap.parse_args()
    harness.configure(args.wrapper, args.backend, {
        "chat_server": args.chat_server, "chat_client": args.chat_client,
        "echo_server": args.echo_server, "relay_server": args.relay_server,
        "stress_client": args.stress_client, "proxy_server": args.proxy_server}, args.stop_signal)

    import test_chat
    import test_samples
    import test_non_readers
    import test_stress
    import test_chat_rooms
    import test_chat_redis
    import test_proxy
    import test_tls_chat
    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    modules = (test_chat, test_samples, test_non_readers, test_stress, test_chat_rooms, test_chat_redis, test_proxy, test_tls_chat)
    if not args.groups:
        for m in modules:
            suite.addTests(loader.loadTestsFromModule(m))
    for g in args.groups:
        cls = next((getattr(m, g) for m in modules if isinstance(getattr(m, g, None), type)), None)
        if cls is None:
            ap.error("no test group %s" % g)
        suite.addTests(loader.loadTestsFromTestCase(cls))
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    print("e2e: %d passed, %d failed" % (result.testsRun - len(result.failures) - len(result.errors),
                                         len(result.failures) + len(result.errors)))
    return 0 if result.wasSuccessful() and result.testsRun > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
