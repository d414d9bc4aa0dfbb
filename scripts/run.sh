#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and starts the
# sample chat server on port 9034 (extra arguments are passed to it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" linux
echo "join from another terminal: build/linux/samples/chat_client --port 9034   (or: nc localhost 9034)"
cd "$root"
exec build/linux/samples/chat_server --port 9034 "$@"
