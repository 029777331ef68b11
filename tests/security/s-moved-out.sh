#!/bin/bash
# Attack: a subdirectory of a recursive registration is moved OUT of the
# registered tree while the daemon cannot see the move: the daemon is
# stopped (SIGSTOP), the inotify queue is flooded until it overflows, then
# R/sub is renamed to a place outside R ($T/outside/sub) and files the
# policy would select are created there; then SIGCONT.
# Expected: after the overflow the daemon rescans R; sub is no longer
# below R, so nothing in $T/outside may be deleted (SPEC 5: the candidate
# set is the files below the registered directory); the daemon stays up.
# Also checked without the overflow (the normal event path) first.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

R="$T/rec"
OUT="$T/outside"
FLOOD="$T/flood"
mkdir -p "$R/sub1/deeper" "$R/sub2" "$OUT" "$FLOOD"
write_config <<EOC
[cleanup "rec"]
directory = $R
recursive = yes
pattern = *.log
max_files = 0

[cleanup "flood"]
directory = $FLOOD
pattern = *.nomatch
max_files = 0
$(sec_canary_conf)
EOC
start_daemon
sec_probe
echo x >"$R/sub1/deeper/a.log"
wait_until test ! -e "$R/sub1/deeper/a.log" || fail "not enforced in a subdirectory"

# 1. normal path: the move is seen
mv "$R/sub1" "$OUT/sub1"
sec_probe
for i in 1 2 3; do echo "out $i" >"$OUT/sub1/o$i.log"; echo "out $i" >"$OUT/sub1/deeper/o$i.log"; done
sec_probe
sleep 0.3
sec_probe
sec_snap "$OUT" "$T/out.snap"
[ "$(find "$OUT" -name '*.log' | wc -l)" -eq 6 ] || sec_fail_later "files deleted in a directory moved out of the tree (events seen)"

# 2. the move hidden by an overflow
kill -STOP "$HK_PID"
python3 - "$FLOOD" <<'EOP'
import os, sys
d = sys.argv[1]
for i in range(20000):
    fd = os.open(os.path.join(d, "f%05d" % i), os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)
EOP
mv "$R/sub2" "$OUT/sub2"
for i in 1 2 3; do echo "hidden $i" >"$OUT/sub2/h$i.log"; done
kill -CONT "$HK_PID"
wait_for_log "overflow" || fail "no overflow reported"
sec_probe
# events in the moved directory after the rescan
for i in 4 5 6; do echo "later $i" >"$OUT/sub2/h$i.log"; done
sec_probe
sleep 0.5
sec_probe
n=$(find "$OUT/sub2" -name '*.log' | wc -l)
[ "$n" -eq 6 ] || sec_fail_later "$((6 - n)) files deleted in $OUT/sub2, a directory moved out of the registered tree during an overflow: $(grep "outside\|sub2" "$HK_LOG" | tail -5)"
# a new file in R is still enforced
echo y >"$R/new.log"
wait_until test ! -e "$R/new.log" || sec_fail_later "R no longer enforced"
sec_alive || fail "daemon died"
stop_daemon || fail "daemon did not stop cleanly"
sec_finish
