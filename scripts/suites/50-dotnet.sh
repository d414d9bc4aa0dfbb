#!/usr/bin/env bash
# .NET binding: builds libiocpnet, generates the P/Invoke layer with SWIG,
# builds and packs IocpNet, runs the xunit tests (default backend, then
# epoll), a consumer of the .nupkg in a fresh project outside the tree, and
# the ChatClient against samples/chat_server. Offline: restores only from
# /opt/nuget/packages. Last line: "dotnet: N passed, M failed".
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 DOTNET_CLI_UI_LANGUAGE=en
export MSBUILDDISABLENODEREUSE=1 DOTNET_GENERATE_ASPNET_CERTIFICATE=false
feed=/opt/nuget/packages
cs=$root/bindings/csharp
out=$root/build/csharp
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"; }
trap cleanup EXIT
passed=0 failed=0
check() { # NAME: counts the status of the command that just ran
  if [ "$1" = 0 ]; then passed=$((passed + 1)); echo "PASS $2"; else failed=$((failed + 1)); echo "FAIL $2"; fi
}
finish() { echo "dotnet: $passed passed, $failed failed"; [ "$failed" = 0 ]; exit $?; }

bash "$root/scripts/build.sh" linux >"$work/build.log" 2>&1
st=$?; check $st "native library build"
[ $st = 0 ] || { tail -n 30 "$work/build.log"; finish; }

bash "$cs/generate.sh" "$out/generated"
check $? "SWIG generates the P/Invoke layer bound to the library's exports"

projects=("$cs/IocpNet/IocpNet.csproj" "$cs/tests/IocpNet.Tests.csproj"
          "$root/samples/csharp/ChatClient/ChatClient.csproj" "$root/bench/csharp/EchoServer/EchoServer.csproj"
          "$root/bench/csharp/SocketsEcho/SocketsEcho.csproj")
ok=0
for p in "${projects[@]}"; do
  dotnet restore "$p" --source "$feed" >"$work/restore.log" 2>&1 || { ok=1; tail -n 20 "$work/restore.log"; }
  dotnet build "$p" -c Release --no-restore -nologo -v q >"$work/build-cs.log" 2>&1 || { ok=1; grep -E "error" "$work/build-cs.log" | head -20; }
done
check $ok "restore and build (IocpNet, tests, ChatClient, EchoServer)"
[ $ok = 0 ] || finish

# xunit, twice: the default backend (io_uring where allowed) and epoll.
for backend in default epoll; do
  log=$work/test-$backend.log
  if [ $backend = default ]; then env -u IOCPNET_BACKEND timeout 900 dotnet test "$cs/tests/IocpNet.Tests.csproj" -c Release --no-build >"$log" 2>&1
  else IOCPNET_BACKEND=epoll timeout 900 dotnet test "$cs/tests/IocpNet.Tests.csproj" -c Release --no-build >"$log" 2>&1; fi
  summary=$(grep -E "Failed:[[:space:]]+[0-9]+, Passed:[[:space:]]+[0-9]+" "$log" | tail -n 1)
  if [[ $summary =~ Failed:[[:space:]]+([0-9]+),\ Passed:[[:space:]]+([0-9]+) ]]; then
    f=${BASH_REMATCH[1]} p=${BASH_REMATCH[2]}
    passed=$((passed + p)); failed=$((failed + f))
    echo "xunit ($backend backend): $p passed, $f failed"
    [ "$f" = 0 ] || grep -E "\[FAIL\]|Error Message" -A3 "$log" | head -40
  else
    failed=$((failed + 1)); echo "FAIL xunit ($backend backend): no summary (crashed?)"; tail -n 30 "$log"
  fi
done

# The package: contents, then a fresh console project that consumes it.
rm -f "$out"/packages/IocpNet.*.nupkg
dotnet pack "$cs/IocpNet/IocpNet.csproj" -c Release --no-build -nologo -v q >"$work/pack.log" 2>&1
st=$?
nupkg=$(ls "$out"/packages/IocpNet.*.nupkg 2>/dev/null | head -n 1)
if [ $st = 0 ] && [ -n "$nupkg" ]; then
  want="lib/net10.0/IocpNet.dll runtimes/linux-x64/native/libiocpnet.so"
  [ -f "$root/build/mingw/iocpnet.dll" ] && want="$want runtimes/win-x64/native/iocpnet.dll"
  python3 - "$nupkg" $want <<'PY'
import sys, zipfile
names = set(zipfile.ZipFile(sys.argv[1]).namelist())
missing = [w for w in sys.argv[2:] if w not in names]
print("package:", sys.argv[1].rsplit("/", 1)[-1], "holds", ", ".join(sorted(n for n in names if n.startswith(("lib/", "runtimes/")))))
if missing:
    print("missing:", ", ".join(missing))
sys.exit(1 if missing else 0)
PY
  check $? "dotnet pack: lib/net10.0 and runtimes/<rid>/native in the .nupkg"
else
  tail -n 20 "$work/pack.log"; check 1 "dotnet pack"
fi

consumer() {
  local app=$work/consumer
  mkdir -p "$app/feed" && cp "$nupkg" "$app/feed/" || return 1
  cat >"$app/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="iocpnet" value="$app/feed" />
    <add key="machine" value="$feed" />
  </packageSources>
</configuration>
XML
  cd "$app" && dotnet new console -n EchoCheck -o EchoCheck >/dev/null || return 1
  cd EchoCheck || return 1
  # A private package cache: a stale IocpNet of the same version must not be reused.
  export NUGET_PACKAGES=$app/packages
  dotnet add package IocpNet --source "$app/feed" >/dev/null || return 1
  cat >Program.cs <<'CS'
using System.Text;
using IocpNet;

var line = new ConnectionOptions { Framing = Framing.Line };
var client = new Receiver();
using var server = new Port(new Echo());
using var port = new Port(client);
Listener l = server.Listen("127.0.0.1", 0, line);
ConnectionId c = port.Connect("127.0.0.1", l.Port, line);
port.Send(c, "hello package"u8);
if (!client.Got.Task.Wait(TimeSpan.FromSeconds(60))) { Console.WriteLine("timeout"); return 1; }
Console.WriteLine($"native {Port.NativeVersion}, got '{client.Got.Task.Result}'");
return client.Got.Task.Result == "hello package" ? 0 : 1;

class Echo : IPortHandler
{
    public void OnData(Port p, ConnectionId c, ReadOnlySpan<byte> d) => p.Send(c, d);
}
class Receiver : IPortHandler
{
    public TaskCompletionSource<string> Got { get; } = new();
    public void OnData(Port p, ConnectionId c, ReadOnlySpan<byte> d) => Got.TrySetResult(Encoding.UTF8.GetString(d));
}
CS
  env -u IOCPNET_LIBRARY timeout 300 dotnet run >"$work/consumer.out" 2>&1
  local st=$?
  cat "$work/consumer.out"
  [ $st = 0 ] && grep -q "got 'hello package'" "$work/consumer.out"
}
if [ -n "${nupkg:-}" ]; then (consumer); check $? "fresh project consumes the .nupkg: echo round trip"
else check 1 "fresh project consumes the .nupkg (no package)"; fi

# ChatClient against the C chat server: A stays connected, B says something.
chat_e2e() {
  local server=$root/build/linux/samples/chat_server
  local cc=(dotnet "$out/bin/ChatClient/Release/net10.0/ChatClient.dll")
  [ -x "$server" ] || { echo "no $server"; return 1; }
  "$server" --host 127.0.0.1 --port 0 >"$work/chat.out" 2>&1 &
  pids+=($!)
  local port="" i
  for i in $(seq 1 100); do
    port=$(sed -n 's/.*listening on [^ ]*:\([0-9][0-9]*\).*/\1/p' "$work/chat.out" | head -n 1)
    [ -n "$port" ] && break; sleep 0.1
  done
  [ -n "$port" ] || { cat "$work/chat.out"; return 1; }
  mkfifo "$work/a.in"
  "${cc[@]}" --port "$port" <"$work/a.in" >"$work/a.out" 2>&1 &
  local a=$!; pids+=($a)
  exec 7>"$work/a.in" # keeps A's standard input open
  for i in $(seq 1 600); do grep -q '^\* welcome' "$work/a.out" && break; sleep 0.1; done
  (echo "hello from B"; sleep 3) | timeout 120 "${cc[@]}" --port "$port" >"$work/b.out" 2>&1
  local bst=$?
  for i in $(seq 1 600); do grep -q 'hello from B' "$work/a.out" && break; sleep 0.1; done
  exec 7>&- # end of input: A closes gracefully and exits
  local ast=1
  for i in $(seq 1 600); do kill -0 $a 2>/dev/null || { wait $a; ast=$?; break; }; sleep 0.1; done
  echo "--- A"; cat "$work/a.out"; echo "--- B"; cat "$work/b.out"
  [ $bst = 0 ] && [ $ast = 0 ] &&
    grep -q '^\* welcome guest-' "$work/a.out" && grep -q '^\* welcome guest-' "$work/b.out" &&
    grep -Eq '^guest-[0-9]+: hello from B$' "$work/a.out"
}
chat_e2e; check $? "ChatClient e2e with samples/chat_server (welcome line, relayed message, exit on EOF)"

finish
