#!/bin/sh
# A file kept because it is locked is held out of the index and retried;
# a rescan (a manual run, dry or real, rescans first) judges it with the
# rest instead of indexing it a second time: status counts it once, and a
# run does not find it twice.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
command -v flock >/dev/null 2>&1 || skip "needs flock(1)"
S="$T/ctl.sock"
D="$T/d"
mkdir -p "$D"
for i in 1 2 3; do echo "x$i" >"$D/f$i.log"; done
touch -d '3 days ago' "$D"/f*.log
# the lock's holder is the background process itself (exec), so killing it
# releases the lock
(flock 9 && exec sleep 600) 9<"$D/f2.log" &
LOCKER=$!
trap 'kill $LOCKER 2>/dev/null || true; hk_cleanup' EXIT
sleep 0.2
write_config <<EOC
[daemon]
control_socket = $S

[cleanup "held"]
directory = $D
retention = 1d
EOC
start_daemon
wait_until test -S "$S" || fail "no control socket"
ctl() { "$HKCTL" -s "$S" "$@"; }
files() { ctl --json status | jq -r '.[0].files'; }
wait_until test ! -e "$D/f1.log" || fail "the unlocked expired files were not deleted"
wait_until test ! -e "$D/f3.log" || fail "the unlocked expired files were not deleted"
[ -e "$D/f2.log" ] || fail "the locked file was deleted"
[ "$(files)" = 1 ] || fail "status before the runs: $(files) files, want 1 (the locked one)"
for i in 1 2; do
	ctl run --dry-run >"$T/dry.out" || true
	[ "$(files)" = 1 ] || fail "status after dry run $i: $(files) files, want 1: $(cat "$T/dry.out")"
done
ctl --json run >"$T/run.json" || true
n=$(jq '[.files[] | select(.path | endswith("f2.log"))] | length' "$T/run.json")
[ "$n" -le 1 ] || fail "the run lists the locked file $n times: $(cat "$T/run.json")"
[ "$(files)" = 1 ] || fail "status after a run: $(files) files, want 1"
[ -e "$D/f2.log" ] || fail "the locked file was deleted by the run"
kill "$LOCKER" 2>/dev/null || true
wait "$LOCKER" 2>/dev/null || true
# unlocked: the retry, or the next run, deletes it
ctl run >/dev/null 2>&1 || true
wait_until test ! -e "$D/f2.log" || fail "the file was kept after its lock went away"
exit 0
