#!/bin/bash
# Under the /proc the shipped unit gives the daemon (ProcSubset= and
# ProtectProc= of contrib/systemd/housekeeper.service.in, mounted as
# systemd mounts it: a private procfs with subset= and hidepid=, plus the
# unit's capability bounding set), /proc/locks must be readable: it is the
# lock set the deletion path checks (reap.c, locks.c). ProcSubset=pid
# hides it.
# Expected: files under flock and under a POSIX lock are kept, a plain
# expired file is deleted, and the daemon logs no "no lock set" notice.
# The features that read /proc or need capabilities work there too:
# skip_open (a write lease; CAP_LEASE for another uid's file) keeps
# hk-sec-a's file that hk-sec-a's process holds open and deletes its closed
# one; ghost bytes (CAP_SYS_PTRACE to read another uid's /proc/PID/fd, and
# to see the process at all under hidepid=invisible) count the deleted
# file that process still holds. With ReadOnlyPaths=/proc, no process's
# /proc/PID/mem can be opened for writing.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"
unit="$top_srcdir/contrib/systemd/housekeeper.service.in"
subset=$(sed -n 's/^ProcSubset=//p' "$unit")
protect=$(sed -n 's/^ProtectProc=//p' "$unit")
opts=
case $subset in
pid) opts=subset=pid ;;
all | "") ;;
*) fail "unknown ProcSubset=$subset in $unit" ;;
esac
case $protect in
invisible | noaccess | ptraceable) opts="${opts:+$opts,}hidepid=$protect" ;;
default | "") ;;
*) fail "unknown ProtectProc=$protect in $unit" ;;
esac
case " $(sed -n 's/^ReadOnlyPaths=//p' "$unit") " in
*" /proc "*) opts="${opts:+$opts,}ro" ;;
esac
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
bset=-all
for c in $caps; do
	c=${c#CAP_}
	bset="$bset,+$(echo "$c" | tr 'A-Z' 'a-z')"
done
command -v unshare >/dev/null || skip "needs unshare"
unshare -m --propagation private sh -c "mount -t proc -o ${opts:-defaults} proc /proc" 2>"$T/mnt.err" ||
	skip "cannot mount a procfs with ${opts:-defaults}: $(cat "$T/mnt.err")"
setpriv --bounding-set="$bset" true 2>/dev/null || skip "setpriv cannot set the bounding set"

D="$T/d"
mkdir -p "$D"
for f in flock.log posix.log plain.log; do
	echo "$f" >"$D/$f"
done
touch -d 2001-01-01 "$D"/*.log
python3 - "$D" "$T/locked" <<'PY' &
import fcntl, os, sys, time
a = os.open(sys.argv[1] + "/flock.log", os.O_RDONLY)
fcntl.flock(a, fcntl.LOCK_EX)
b = os.open(sys.argv[1] + "/posix.log", os.O_RDWR)
fcntl.lockf(b, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(600)
PY
SEC_PIDS="$SEC_PIDS $!"
wait_until test -e "$T/locked" || fail "could not take the locks"
sec_users
O="$T/o" G="$T/g"
mkdir -p "$O" "$G" "$T/theirs"
chown hk-sec-a: "$T/theirs"
for f in "$O/held.log" "$O/closed.log" "$G/ghost.dat"; do
	echo "theirs" >"$f"
	chown hk-sec-a: "$f"
done
touch -d 2001-01-01 "$O"/*.log
sec_run_as hk-sec-a /usr/bin/python3 -c 'import sys, time
fs = [open(p) for p in sys.argv[2:]]
open(sys.argv[1], "w").close()
time.sleep(600)' "$T/theirs/ready" "$O/held.log" "$G/ghost.dat" &
SEC_PIDS="$SEC_PIDS $!"
wait_until test -e "$T/theirs/ready" || fail "hk-sec-a's process did not open its files"
rm "$G/ghost.dat"
SOCK="$T/ctl.sock"
write_config <<EOC
[cleanup "l"]
directory = $D
retention = 1d

[cleanup "o"]
directory = $O
retention = 1d
skip_open = yes

[cleanup "g"]
directory = $G
retention = 1d

[daemon]
control_socket = $SOCK
EOC
# unshare -m execs (no fork): $! is the daemon
unshare -m --propagation private sh -c 'mount -t proc -o "$1" proc /proc && shift && exec "$@"' \
	sh "${opts:-defaults}" setpriv --bounding-set="$bset" --inh-caps=-all \
	"$HKD" -f -v -c "$T/hk.conf" -S "$T/state" >>"$HK_LOG" 2>&1 &
HK_PID=$!
wait_for_log "started" || fail "daemon did not start under the unit's /proc ($opts)"
wait_until test ! -e "$D/plain.log" || fail "plain.log not deleted under the unit's /proc"
sleep 0.5
[ -e "$D/flock.log" ] || sec_fail_later "a file under flock was deleted under the unit's /proc"
[ -e "$D/posix.log" ] || sec_fail_later "a file under a POSIX lock was deleted under the unit's /proc"
! grep -q "no lock set" "$HK_LOG" ||
	sec_fail_later "the unit's /proc ($opts) hides /proc/locks: $(grep 'no lock set' "$HK_LOG" | head -1)"
wait_until test ! -e "$O/closed.log" ||
	sec_fail_later "skip_open: hk-sec-a's closed file was not deleted under the unit (no CAP_LEASE?)"
[ -e "$O/held.log" ] || sec_fail_later "skip_open: a file held open was deleted under the unit"
! grep -q 'skip_open cannot tell' "$HK_LOG" ||
	sec_fail_later "no lease under the unit: $(grep 'skip_open cannot tell' "$HK_LOG" | head -1)"
ghost_g() {
	"$HKCTL" -s "$SOCK" --json status | python3 -c 'import json, sys
print([r["ghost_bytes"] for r in json.load(sys.stdin) if r["name"] == "g"][0])'
}
ghost_is_7() { [ "$(ghost_g)" = 7 ]; }
wait_until ghost_is_7 ||
	sec_fail_later "ghost bytes under the unit: $(ghost_g), not 7 (hk-sec-a's /proc/PID/fd unreadable?)"
if [ -n "$(sed -n 's/^ReadOnlyPaths=.*\/proc\b.*/x/p' "$unit")" ]; then
	unshare -m --propagation private sh -c 'mount -t proc -o "$1" proc /proc && shift && exec "$@"' \
		sh "$opts" setpriv --bounding-set="$bset" --inh-caps=-all python3 -c '
import sys
try:
    open("/proc/1/mem", "r+b")
except OSError as e:
    sys.exit(0 if e.errno == 30 else 1)
sys.exit(1)' || sec_fail_later "under the unit's /proc, /proc/1/mem can be opened for writing"
fi
sec_finish
