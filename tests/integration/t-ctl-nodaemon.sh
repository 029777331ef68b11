#!/bin/sh
# Without a daemon, housekeeperctl fails fast with exit 3 (never hangs),
# usage errors exit 2, and the example program (when built) carries on.
. "$(dirname "$0")/lib.sh"
S="$T/absent.sock"
start=$(date +%s%N)
rc=0
"$HKCTL" -s "$S" status >"$T/out" 2>"$T/err" || rc=$?
end=$(date +%s%N)
[ "$rc" -eq 3 ] || fail "status without daemon: exit $rc, expected 3"
grep -q "daemon not reachable" "$T/err" || fail "no clear message: $(cat "$T/err")"
# fast: no connect retries or waits (a hang would last the client's timeout);
# the bound leaves room for a loaded machine starting the libtool wrapper
[ $(((end - start) / 1000000)) -lt $((3000 * HK_WAIT / 20)) ] ||
	fail "took $(((end - start) / 1000000)) ms"
# the environment variable is honoured, and a stale socket file counts as absent
if python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$T/stale.sock" 2>/dev/null; then
	rc=0
	HOUSEKEEPER_SOCKET="$T/stale.sock" "$HKCTL" list >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 3 ] || fail "list via a stale HOUSEKEEPER_SOCKET: exit $rc, expected 3"
fi
# usage errors: exit 2, before any connection
for args in "" "bogus" "register" "remove" "remove a b" "run a b" "explain" \
	"register /x --retention 30" "register /x --max-size 12" "register /x --max-files many" \
	"audit --since yesterday" "list --nope"; do
	rc=0
	# shellcheck disable=SC2086
	"$HKCTL" -s "$S" $args >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "'housekeeperctl $args': exit $rc, expected 2"
done
# --help and help CMD everywhere: exit 0, the command's own usage
for c in register update remove list run wait status explain audit jobs reload metrics version \
	help; do
	"$HKCTL" "$c" --help >/dev/null || fail "$c --help"
	"$HKCTL" help "$c" >"$T/help" || fail "help $c"
	grep -q "^Usage: housekeeperctl .*$c" "$T/help" || fail "help $c: $(head -1 "$T/help")"
done
# help of an unknown command: a usage error, said on stderr
rc=0; "$HKCTL" help nosuch >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] || fail "help nosuch: exit $rc, expected 2"
grep -q "unknown command 'nosuch'" "$T/err" || fail "help nosuch: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "help nosuch printed on stdout"
"$HKCTL" --help >/dev/null || fail "--help"
# the example program logs and exits 0 when the daemon is absent
if [ -x "$top_builddir/contrib/examples/register-logs" ]; then
	HOUSEKEEPER_SOCKET="$S" "$top_builddir/contrib/examples/register-logs" "$T" 2>"$T/ex" ||
		fail "register-logs without daemon: non-zero exit"
	grep -q "scheduler not available" "$T/ex" || fail "register-logs message: $(cat "$T/ex")"
fi
exit 0
