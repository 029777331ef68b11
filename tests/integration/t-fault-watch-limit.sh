#!/bin/sh
# Fault injection: the inotify watch limit is reached. The daemon runs in a
# user namespace whose max_inotify_watches is 3: the shared parent of the
# registered directories and two roots get watches, the third registration
# does not. That registration logs an error naming
# fs.inotify.max_user_watches, raises a watch-limit failure (on_failure runs
# with HK_FAILURE_CLASS=watch-limit, housekeeper_watch_fallbacks_total
# counts it) and is still enforced: by `housekeeperctl run ID` and by the
# fallback rescan (every 30 s). The registrations that have their watches
# keep enforcing on events, within a second. A registration added later by
# SIGHUP that hits the limit is reported the same way.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null 2>&1 || skip "needs jq"
command -v unshare >/dev/null 2>&1 || skip "needs unshare"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
LIMIT=3
# the limit can be set in a new user namespace, and inotify honours it
unshare -U -r sh -c "echo $LIMIT >/proc/sys/user/max_inotify_watches && python3 -c '
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
ok = [libc.inotify_add_watch(fd, d.encode(), 0x100) >= 0 for d in sys.argv[1:]]
sys.exit(0 if ok == [True] * $LIMIT + [False] and ctypes.get_errno() == errno.ENOSPC else 1)
' / /tmp /usr /etc" 2>/dev/null || skip "cannot set max_inotify_watches in a user namespace"
S="$T/state/housekeeper.sock"
ctl() { "$HKCTL" -s "$S" "$@"; }
W="$T/w"
mkdir -p "$W/a" "$W/b" "$W/c" "$W/d"
cat >"$T/hook.sh" <<'EOH'
#!/bin/sh
env | grep '^HK_' | sort >>"$HOOK_OUT"
echo --- >>"$HOOK_OUT"
EOH
chmod +x "$T/hook.sh"
export HOOK_OUT="$T/hook.out"
regs() {
	printf '[daemon]\non_failure = %s\n\n[scheduler]\nhousekeeper_schedule = 0 3 1 1 *\n' "$T/hook.sh"
	for r in "$@"; do
		printf '\n[cleanup "%s"]\ndirectory = %s\nmax_files = 2\n' "$r" "$W/$r"
	done
}
regs a b c | write_config
# the daemon in a user namespace with the small limit (unshare and sh exec
# it: $HK_PID is the daemon)
cat >"$T/hkd-ns" <<EOS
#!/bin/sh
exec unshare -U -r sh -c 'echo $LIMIT >/proc/sys/user/max_inotify_watches && exec "\$0" "\$@"' "$HKD" "\$@"
EOS
chmod +x "$T/hkd-ns"
REAL_HKD=$HKD
HKD="$T/hkd-ns"
t0=$(date +%s)
start_daemon
HKD=$REAL_HKD
wait_until ctl status >/dev/null || fail "daemon does not answer"
grep 'inotify watch limit reached' "$HK_LOG" >"$T/limit.log" || fail "no watch-limit error logged"
[ "$(wc -l <"$T/limit.log")" -eq 1 ] || fail "expected one registration over the limit: $(cat "$T/limit.log")"
grep -q 'fs\.inotify\.max_user_watches' "$T/limit.log" || fail "the error does not name the sysctl: $(cat "$T/limit.log")"
U=
for r in a b c; do
	grep -q "$W/$r:" "$T/limit.log" && U=$r
done
[ -n "$U" ] || fail "the error names no registered directory: $(cat "$T/limit.log")"
OK=$(printf '%s\n' a b c | grep -vx "$U" | tr '\n' ' ')
id_of() { ctl --json list | jq -r --arg n "$1" '.[] | select(.name == $n) | .id'; }
UID_=$(id_of "$U")

# the watched registrations enforce on events, within a second
now_ms() { echo $(($(date +%s%N) / 1000000)); }
for r in $OK; do
	mkfiles "$W/$r" f 5
	t=$(now_ms)
	while ! count_is "$W/$r" 2; do
		[ $(($(now_ms) - t)) -lt 1000 ] || fail "watched registration $r: limit not enforced within 1 s ($(count_entries "$W/$r") files)"
		sleep 0.02
	done
done
# the unwatched one sees no event ...
mkfiles "$W/$U" f 5
sleep 1
count_is "$W/$U" 5 || echo "note: $U enforced without a watch?" >&2
# ... but a manual run enforces it
ctl run "$UID_" >"$T/run.out" 2>&1 || fail "run $U: $(cat "$T/run.out")"
wait_until count_is "$W/$U" 2 || fail "run $U: limit not enforced ($(count_entries "$W/$U") files)"
[ "$(names "$W/$U" | tr '\n' ' ')" = "f004.log f005.log " ] || fail "run $U kept the wrong files: $(names "$W/$U" | tr '\n' ' ')"
# watched ones still work after that
for r in $OK; do
	echo new >"$W/$r/g001.log"
	wait_until count_is "$W/$r" 2 || fail "$r: limit not enforced after the manual run"
	[ -e "$W/$r/g001.log" ] || fail "$r: the newest file was deleted"
done

# a registration added at runtime hits the limit too: reported the same way
regs a b c d | write_config
kill -HUP "$HK_PID"
wait_until grep -q "$W/d: inotify watch limit reached" "$HK_LOG" || fail "no watch-limit error for d added by SIGHUP"
DID=$(id_of d)
wait_until grep -q "^HK_REGISTRATION_ID=$DID\$" "$HOOK_OUT" ||
	fail "on_failure did not run for d (added by SIGHUP): $(cat "$HOOK_OUT" 2>/dev/null)"

# the fallback rescan (every 30 s from the start) enforces the unwatched
# registration without any help
for i in 1 2 3 4; do
	echo "$i" >"$W/$U/h00$i.log"
	sleep 0.01
done
deadline=$((t0 + 38))
while ! count_is "$W/$U" 2; do
	[ "$(date +%s)" -lt "$deadline" ] || fail "$U: no fallback rescan enforced the limit within 38 s of the start ($(count_entries "$W/$U") files)"
	sleep 0.2
done
[ "$(names "$W/$U" | tr '\n' ' ')" = "h003.log h004.log " ] || fail "fallback rescan of $U kept the wrong files: $(names "$W/$U" | tr '\n' ' ')"
kill -0 "$HK_PID" || fail "daemon died"

# the failure at start-up was notified (on_failure, metrics) like the one
# after SIGHUP
ctl metrics >"$T/metrics"
grep -q "^HK_REGISTRATION_ID=$UID_\$" "$HOOK_OUT" ||
	fail "on_failure never ran for the watch-limit failure of $U at start-up (hook output: $(tr '\n' ' ' <"$HOOK_OUT"))"
grep -q '^HK_FAILURE_CLASS=watch-limit$' "$HOOK_OUT" || fail "no HK_FAILURE_CLASS=watch-limit: $(cat "$HOOK_OUT")"
grep -q "^housekeeper_watch_fallbacks_total 2\$" "$T/metrics" ||
	fail "housekeeper_watch_fallbacks_total: $(grep watch_fallbacks "$T/metrics" | grep -v '^#'), expected 2 ($U at start-up, d after SIGHUP)"
stop_daemon || fail "daemon did not stop cleanly"
exit 0
