#!/bin/bash
# Applications opt a file out of cleanup by locking it (SPEC 7): flock, a
# POSIX lock (fcntl F_SETLK / lockf), an OFD lock (F_OFD_SETLK), and a
# lease. Every expired file of the registration is selected.
# Expected: --once --dry-run, --once and the running daemon keep all four
# locked files and delete the plain one; the lock set comes from
# /proc/locks (no "no lock set" notice); once the locks are released the
# same files are deleted on their next event.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

D="$T/d"
mkdir -p "$D"
LOCKED="flock.log posix.log ofd.log lease.log"
for f in $LOCKED plain.log; do
	echo "$f" >"$D/$f"
done
touch -d 2001-01-01 "$D"/*.log
# one process holds every lock until killed; it says which it could take
python3 - "$D" "$T/locked" <<'EOF' &
import fcntl, os, struct, sys, time
d, ready = sys.argv[1], sys.argv[2]
fds = []
a = os.open(d + "/flock.log", os.O_RDONLY)
fcntl.flock(a, fcntl.LOCK_EX)
b = os.open(d + "/posix.log", os.O_RDWR)
fcntl.lockf(b, fcntl.LOCK_EX)
c = os.open(d + "/ofd.log", os.O_RDONLY)
F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37)
fcntl.fcntl(c, F_OFD_SETLK, struct.pack("hhqqi4x", fcntl.F_RDLCK, 0, 0, 0, 0))
e = os.open(d + "/lease.log", os.O_RDONLY)
took = "flock posix ofd"
try:
    fcntl.fcntl(e, getattr(fcntl, "F_SETLEASE", 1024), fcntl.F_RDLCK)
    took += " lease"
except OSError:
    pass
with open(ready, "w") as r:
    r.write(took + "\n")
time.sleep(600)
EOF
LOCK_PID=$!
SEC_PIDS="$SEC_PIDS $LOCK_PID"
wait_until test -s "$T/locked" || fail "could not take the locks"
took=$(cat "$T/locked")
case " $took " in *" lease "*) ;; *) LOCKED="flock.log posix.log ofd.log"; echo "no lease here" >&2 ;; esac
grep -E -q "FLOCK .* $LOCK_PID " /proc/locks || fail "the flock is not in /proc/locks"

write_config <<EOC
[cleanup "l"]
directory = $D
retention = 1d
EOC
check_kept() {   # check_kept PHASE
	local f
	for f in $LOCKED; do
		[ -e "$D/$f" ] || sec_fail_later "$1: $f was deleted while locked"
	done
	[ -z "$(find "$D" -name '.housekeeper-deleting-*' -print -quit)" ] ||
		sec_fail_later "$1: a private name was left behind"
}

sec_once "$T/dry" --dry-run || true
check_kept "--once --dry-run"
[ -e "$D/plain.log" ] || sec_fail_later "--once --dry-run deleted plain.log"
sec_once "$T/once" || true
check_kept "--once"
[ ! -e "$D/plain.log" ] || sec_fail_later "--once kept plain.log"
! grep -q "no lock set" "$T/once.err" ||
	sec_fail_later "--once had no lock set: $(grep 'no lock set' "$T/once.err")"

echo plain >"$D/plain2.log"
touch -d 2001-01-01 "$D/plain2.log"
start_daemon
wait_until test ! -e "$D/plain2.log" || fail "the daemon did not delete plain2.log"
sleep 0.5
check_kept "daemon"
! grep -q "no lock set" "$HK_LOG" || sec_fail_later "the daemon had no lock set"

# released: deleted on the next event
kill "$LOCK_PID"
wait "$LOCK_PID" 2>/dev/null || true
for f in $LOCKED; do
	touch -d 2001-01-01 "$D/$f"
done
for f in $LOCKED; do
	wait_until test ! -e "$D/$f" || sec_fail_later "$f not deleted once its lock was released"
done
sec_finish
