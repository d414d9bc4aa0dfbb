# Sourced by wine-env.sh and suites/40-wine.sh. wine_server_pid prints the
# pid of the wineserver serving $WINEPREFIX (its cwd is server-<dev>-<inode>
# of the prefix), or nothing when none runs.
wine_server_pid() {
  local key p
  key=$(printf 'server-%x-%x' "$(stat -c %d "$WINEPREFIX")" "$(stat -c %i "$WINEPREFIX")")
  for p in $(pgrep -u "$(id -u)" wineserver 2>/dev/null); do
    case $(readlink "/proc/$p/cwd" 2>/dev/null) in */"$key") echo "$p"; return ;; esac
  done
}
