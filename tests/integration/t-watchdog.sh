#!/bin/sh
# The systemd watchdog (issue 18, point 7): the shipped unit sets
# WatchdogSec=, and under it (WATCHDOG_USEC, WATCHDOG_PID) the daemon sends
# WATCHDOG=1 from its loop at half the interval: with 1 s, a ping about
# every 0.5 s. WATCHDOG_PID naming another process means the pings are not
# ours to send: none.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
UNIT="$top_builddir/contrib/systemd/housekeeper.service"
[ -f "$UNIT" ] || fail "$UNIT not built"
grep -q '^WatchdogSec=[1-9]' "$UNIT" || fail "the unit sets no WatchdogSec="
mkdir -p "$T/d"
printf '[cleanup "w"]\ndirectory = %s\nmax_files = 5\n' "$T/d" | write_config
notify_listen "$T/n1.sock" "$T/n1.log"
# the daemon's own pid in WATCHDOG_PID, as systemd sets it
NOTIFY_SOCKET="$T/n1.sock" WATCHDOG_USEC=1000000 sh -c \
	'WATCHDOG_PID=$$ exec "$0" -f -c "$1" -S "$2"' "$HKD" "$T/hk.conf" "$T/state" >>"$HK_LOG" 2>&1 &
HK_PID=$!
wait_until grep -q ' READY=1$' "$T/n1.log" || fail "no READY=1"
sleep 3.2
python3 - "$T/n1.log" <<'EOP' || fail "pings not at half the interval: $(grep WATCHDOG "$T/n1.log" | tr '\n' ' ')"
import sys
t = [float(l.split()[0]) for l in open(sys.argv[1]) if l.split()[1:] == ["WATCHDOG=1"]]
gaps = sorted(b - a for a, b in zip(t, t[1:]))
if len(t) < 4:
    sys.exit("only %d pings in 3 s" % len(t))
median = gaps[len(gaps) // 2]
if not 0.4 <= median <= 0.65:
    sys.exit("median gap %.3f s" % median)
if len(t) > 9:
    sys.exit("%d pings in 3 s" % len(t))
EOP
stop_daemon || fail "stop"
kill "$NOTIFY_PID" 2>/dev/null || true
# WATCHDOG_PID of another process: no pings
notify_listen "$T/n2.sock" "$T/n2.log"
NOTIFY_SOCKET="$T/n2.sock" WATCHDOG_USEC=200000 WATCHDOG_PID=1 start_daemon
wait_until grep -q ' READY=1$' "$T/n2.log" || fail "no READY=1 (2)"
sleep 1
grep -q 'WATCHDOG=1' "$T/n2.log" && fail "pings with WATCHDOG_PID of another process"
stop_daemon || fail "stop 2"
exit 0
