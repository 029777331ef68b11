#!/bin/bash
# skip_open = yes (SPEC 7): a file that any process holds open is kept,
# held and retried like a locked one; the test is a write lease, which the
# kernel grants only while nobody else has the file open (reap.c).
# Setup: every file is expired (retention 1d). In "open" (skip_open = yes)
# a Python process holds held.log open (read-only); plain.log is closed.
# In "plain" (skip_open = no) the same process holds held.log open too.
# As root, "open" also has a file of another user held open by a process
# of that user (the lease needs CAP_LEASE there) and one it does not hold.
# Expected: --once --dry-run reports the open file kept as in use; the
# daemon deletes every closed file (the foreign one too) and plain's open
# held.log at once, keeps open's open files while the process lives and
# deletes them within the retry window (5 s, then 10 s) after it exits;
# explain says the open file is kept because a process holds it open.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

A="$T/open" B="$T/plain"
mkdir -p "$A" "$B"
for f in "$A/held.log" "$A/plain.log" "$B/held.log"; do
	echo "$f" >"$f"
done
FOREIGN=
u=hk-sec-a
if test_user "$u"; then
	FOREIGN=$u
	chmod 0755 "$T"
	echo theirs >"$A/theirs-held.log"
	echo theirs >"$A/theirs-closed.log"
	chown "$u": "$A/theirs-held.log" "$A/theirs-closed.log"
	mkdir "$T/theirs" && chown "$u": "$T/theirs"
fi
touch -d 2001-01-01 "$A"/*.log "$B"/*.log

HOLD_PIDS=
HK_EXTRA_CLEANUP='for p in $HOLD_PIDS; do kill $p 2>/dev/null; wait $p 2>/dev/null; done'
python3 -c 'import sys, time
fs = [open(p) for p in sys.argv[2:]]
open(sys.argv[1], "w").close()
time.sleep(600)' "$T/ready1" "$A/held.log" "$B/held.log" &
HOLD=$!
HOLD_PIDS=$HOLD
if [ -n "$FOREIGN" ]; then
	setpriv --reuid="$(id -u "$FOREIGN")" --regid="$(id -g "$FOREIGN")" --clear-groups \
		/usr/bin/python3 -c 'import sys, time
f = open(sys.argv[2])
open(sys.argv[1], "w").close()
time.sleep(600)' "$T/theirs/ready" "$A/theirs-held.log" &
	HOLD2=$!
	HOLD_PIDS="$HOLD_PIDS $HOLD2"
	wait_until test -e "$T/theirs/ready" || fail "the other user's process did not open its file"
fi
wait_until test -e "$T/ready1" || fail "python did not open the files"

write_config <<EOC
[cleanup "open"]
directory = $A
retention = 1d
skip_open = yes

[cleanup "plain"]
directory = $B
retention = 1d

[daemon]
control_socket = $T/ctl.sock
EOC
S="$T/ctl.sock"

# a dry run reports the open file as kept (in use), the closed one as would-delete
"$HKD" --once --dry-run -c "$T/hk.conf" -S "$T/state-dry" >"$T/dry.out" 2>"$T/dry.err" || true
grep -E -q "^in-use .*$A/held.log" "$T/dry.out" ||
	fail "--once --dry-run did not report held.log in use: $(cat "$T/dry.out" "$T/dry.err")"
grep -E -q "^would-delete .*$A/plain.log" "$T/dry.out" ||
	fail "--once --dry-run did not report plain.log: $(cat "$T/dry.out")"
[ -e "$A/plain.log" ] || fail "the dry run deleted plain.log"

start_daemon
wait_until test ! -e "$A/plain.log" || fail "the closed plain.log was not deleted"
wait_until test ! -e "$B/held.log" || fail "skip_open = no kept an open file"
if [ -n "$FOREIGN" ]; then
	wait_until test ! -e "$A/theirs-closed.log" ||
		fail "another user's closed file was not deleted (no lease on it?)"
fi
sleep 1
[ -e "$A/held.log" ] || fail "skip_open = yes deleted a file held open"
[ -z "$FOREIGN" ] || [ -e "$A/theirs-held.log" ] ||
	fail "skip_open = yes deleted another user's file held open by that user"
[ -z "$(find "$A" -name '.housekeeper-deleting-*' -print -quit)" ] ||
	fail "a private name was left behind"
! grep -q 'skip_open cannot tell' "$HK_LOG" ||
	fail "no lease could be taken: $(grep 'skip_open cannot tell' "$HK_LOG")"
# explain says why the file is still there
if command -v jq >/dev/null 2>&1; then
	ctl --json explain "$A/held.log" | jq -e '.registrations[0] | .held and .reason == null and
		(.note | test("holds it open"))' >/dev/null ||
		fail "explain of the open file: $(ctl --json explain "$A/held.log")"
fi

# closed: deleted at the next retry (5 s after the first attempt, 10 s after
# the second), without any event on the file
for p in $HOLD_PIDS; do
	kill "$p"
	wait "$p" 2>/dev/null || true
done
HOLD_PIDS=
t0=$(date +%s)
HK_WAIT=$((HK_WAIT + 20)) wait_until test ! -e "$A/held.log" ||
	fail "held.log not deleted after it was closed"
[ -z "$FOREIGN" ] || HK_WAIT=$((HK_WAIT + 20)) wait_until test ! -e "$A/theirs-held.log" ||
	fail "the other user's file not deleted after it was closed"
echo "deleted $(($(date +%s) - t0)) s after the close"
exit 0
