#!/bin/bash
# Ghost bytes (status, metrics): the bytes of files deleted from a
# registration's directory that a process still holds open, counted from
# /proc/PID/fd on request, on a thread, within a deadline.
# Setup: "g" (not recursive) holds big.log (1 MiB, expired) and
# sub/deep.log (4 KiB); "other" holds nothing. A Python process opens both
# files; the daemon deletes big.log (age), the test removes deep.log (below
# g: not its, it is not recursive). As root, a process of another user
# holds a 64 KiB file of g open that the test then removes.
# Expected: status --json says ghost_bytes 1 MiB (plus 64 KiB as root) and
# ghost_files 1 (2) for g, 0 for other, in the table (GHOST column) and in
# the metric housekeeper_ghost_bytes{registration="g"}; as root the count
# is complete; once the processes exit the count is 0.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

G="$T/g" O="$T/other"
mkdir -p "$G/sub" "$O"
head -c 1048576 /dev/zero >"$G/big.log"
head -c 4096 /dev/zero >"$G/sub/deep.log"
touch -d 2001-01-01 "$G/big.log"
want_bytes=1048576 want_files=1
FOREIGN=
HOLD_PIDS=
HK_EXTRA_CLEANUP='for p in $HOLD_PIDS; do kill $p 2>/dev/null; wait $p 2>/dev/null; done'
u=hk-sec-a
if test_user "$u"; then
	FOREIGN=$u
	chmod 0755 "$T"
	mkdir "$T/theirs" && chown "$u": "$T/theirs"
	head -c 65536 /dev/zero >"$G/theirs.dat"
	chown "$u": "$G/theirs.dat"
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --clear-groups \
		/usr/bin/python3 -c 'import sys, time
f = open(sys.argv[2])
open(sys.argv[1], "w").close()
time.sleep(600)' "$T/theirs/ready" "$G/theirs.dat" &
	HOLD_PIDS="$HOLD_PIDS $!"
	wait_until test -e "$T/theirs/ready" || fail "the other user's process did not start"
	rm "$G/theirs.dat"
	want_bytes=$((want_bytes + 65536)) want_files=2
fi
python3 -c 'import sys, time
fs = [open(p) for p in sys.argv[2:]]
open(sys.argv[1], "w").close()
time.sleep(600)' "$T/ready" "$G/big.log" "$G/sub/deep.log" &
HOLD=$!
HOLD_PIDS="$HOLD_PIDS $HOLD"
wait_until test -e "$T/ready" || fail "python did not open the files"
rm "$G/sub/deep.log"

ctl_daemon <<EOC
[cleanup "g"]
directory = $G
retention = 1d

[cleanup "other"]
directory = $O
retention = 1d
EOC
wait_until test ! -e "$G/big.log" || fail "big.log was not deleted"

ghost() {   # ghost NAME FIELD: the field of NAME in status --json
	ctl --json status | python3 -c 'import json, sys
for r in json.load(sys.stdin):
    if r["name"] == sys.argv[1]:
        print(json.dumps(r[sys.argv[2]]))' "$1" "$2"
}
ghost_is() { [ "$(ghost "$1" ghost_bytes)" = "$2" ]; }
wait_until ghost_is g "$want_bytes" ||
	fail "ghost_bytes of g is $(ghost g ghost_bytes), not $want_bytes: $(ctl --json status)"
[ "$(ghost g ghost_files)" = "$want_files" ] || fail "ghost_files of g is $(ghost g ghost_files)"
[ "$(ghost other ghost_bytes)" = 0 ] || fail "ghost_bytes of other is $(ghost other ghost_bytes)"
# complete exactly when this test (the daemon's credentials) can read the
# fds of every process; here PID 1 may have more capabilities than we do
if python3 -c 'import os, sys
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        for f in os.listdir("/proc/%s/fd" % p):
            os.readlink("/proc/%s/fd/%s" % (p, f))
    except FileNotFoundError:
        pass
    except OSError:
        sys.exit(1)'; then
	[ "$(ghost g ghost_bytes_incomplete)" = false ] ||
		fail "the count is said incomplete though every process is readable"
else
	[ "$(ghost g ghost_bytes_incomplete)" = true ] ||
		fail "the count is said complete though some process is not readable"
fi
ctl --bytes status >"$T/table" || fail "status failed"
cat "$T/table"
head -n 3 "$T/table" | grep -q 'GHOST' || fail "no GHOST column: $(cat "$T/table")"
grep -E -q "^g .* $want_bytes\\?? " "$T/table" || fail "the table has no ghost bytes for g: $(cat "$T/table")"
ctl metrics >"$T/metrics" || fail "metrics failed"
grep -q "^housekeeper_ghost_bytes{registration=\"g\"} $want_bytes\$" "$T/metrics" ||
	fail "no ghost metric for g: $(grep ghost "$T/metrics")"

# closed: nothing is held any more
for p in $HOLD_PIDS; do
	kill "$p"
	wait "$p" 2>/dev/null || true
done
HOLD_PIDS=
wait_until ghost_is g 0 || fail "ghost_bytes of g stayed $(ghost g ghost_bytes) after the close"
exit 0
