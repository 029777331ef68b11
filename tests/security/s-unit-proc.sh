#!/bin/bash
# Under the /proc the shipped unit gives the daemon (ProcSubset= and
# ProtectProc= of contrib/systemd/housekeeper.service.in, mounted as
# systemd mounts it: a private procfs with subset= and hidepid=, plus the
# unit's capability bounding set), /proc/locks must be readable: it is the
# lock set the deletion path checks (reap.c, locks.c). ProcSubset=pid
# hides it.
# Expected: files under flock and under a POSIX lock are kept, a plain
# expired file is deleted, and the daemon logs no "no lock set" notice.
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
write_config <<EOC
[cleanup "l"]
directory = $D
retention = 1d
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
sec_finish
