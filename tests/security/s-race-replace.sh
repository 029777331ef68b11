#!/bin/bash
# Attack (best effort): a writer keeps replacing files of an age-limited
# directory by rename, alternating an OLD version (dated 2001: selected)
# and at once a FRESH one (not selected), while the daemon enforces
# (retention = 1h), for a few seconds; the same under --once in a loop.
# The daemon decides on the old version; by the time it unlinks, the name
# may hold the fresh one. SPEC 7: re-check (inode, size, mtime) right
# before unlinkat and skip on change.
# Expected: the last version of every name is fresh, so every name exists
# at the end with its last content. A missing name means a fresh file was
# deleted: the residual window between the re-check (flock held) and
# unlinkat (by name) that reap.c documents - the test reports it as a
# failure with the count, so its frequency is visible.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

SECS=${SEC_RACE_SECONDS:-3}
W="$T/w"
STAGE="$T/stage"
mkdir -p "$W" "$STAGE"
NAMES=$(printf 'f%02d.log ' $(seq 1 20))
write_config <<EOC
[cleanup "w"]
directory = $W
retention = 1h
$(sec_canary_conf)
EOC
check_last() {   # check_last OUT PHASE
	local missing=0 wrong=0 name want
	while read -r name want; do
		[ "$name" != rounds ] || { echo "$2: $want rounds" >&2; continue; }
		if [ ! -e "$W/$name" ]; then
			missing=$((missing + 1))
		elif [ "$(tr ' ' _ <"$W/$name")" != "$want" ]; then
			wrong=$((wrong + 1))
		fi
	done <"$1"
	[ $wrong -eq 0 ] || fail "$2: $wrong names hold a stale version"
	[ $missing -eq 0 ] || sec_fail_later "$2: $missing fresh files deleted (replaced between decision and unlink)"
}
# A. --once in a loop
python3 "$SEC_DIR/race.py" replace "$W" "$STAGE" "$SECS" $NAMES >"$T/repA" &
RP=$!
SEC_PIDS="$SEC_PIDS $RP"
while kill -0 $RP 2>/dev/null; do
	rc=0
	timeout -k 2 $((HK_WAIT * 3)) "$HKD" --once -c "$T/hk.conf" -S "$T/state-once" >"$T/onceA" 2>"$T/onceA.err" || rc=$?
	case $rc in 0 | 1) ;; *) fail "--once exited $rc: $(tail -3 "$T/onceA.err")" ;; esac
done
wait $RP || fail "writer failed"
check_last "$T/repA" "--once"
# B. running daemon
start_daemon
sec_probe
python3 "$SEC_DIR/race.py" replace "$W" "$STAGE" "$SECS" $NAMES >"$T/repB" || fail "writer failed"
sec_probe
check_last "$T/repB" "daemon"
grep -q "changed" "$HK_LOG" && echo "daemon logged changes under it: $(grep -c changed "$HK_LOG")" >&2
stop_daemon || fail "daemon did not stop cleanly"
sec_finish
