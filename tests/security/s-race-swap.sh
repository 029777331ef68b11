#!/bin/bash
# Attack: a tight loop (race.py swap) swaps subdirectories of a recursive
# registration for symlinks to a decoy tree full of old matching files
# (rename sub sub.real; symlink decoy sub; new file into the real one;
# rm sub; rename sub.real sub), thousands of times, while
#  A. `housekeeperd --once` sweeps the tree again and again (max_files =
#     600 over ~800 files + the new ones), then
#  B. a running daemon enforces max_files = 50 on the events.
# Expected: the decoy is byte- and stat-identical; the daemon stays up; no
# file among the globally newest N (the N kept by the policy: never
# selectable by any sweep, whatever part of the tree it saw) is deleted;
# after the race, one sweep / the daemon converge to exactly N files, the
# newest N. At least 1,000 swaps in each phase (the count is printed).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

SECS=${SEC_RACE_SECONDS:-4}
DECOY="$T/decoy"
sec_make_decoy "$DECOY"
for i in $(seq 1 40); do echo "decoy $i" >"$DECOY/d$i.dat"; done
touch -d '2001-01-01' "$DECOY"/*.dat "$DECOY"
R="$T/tree"
STAGE="$T/stage"
mkdir -p "$R" "$STAGE"
SUBS=$(printf 's%02d ' $(seq 0 7))
python3 - "$R" <<'EOP'
import os, sys, time
r = sys.argv[1]
base = time.time() - 200000
n = 0
for d in ["s%02d" % i for i in range(8)] + ["static%02d/inner" % i for i in range(12)]:
    os.makedirs(os.path.join(r, d))
    for j in range(40):
        p = os.path.join(r, d, "init%04d.dat" % n)
        with open(p, "w") as f:
            f.write("init %d\n" % n)
        os.utime(p, (base + n, base + n))
        n += 1
EOP
sec_snap "$DECOY" "$T/decoy.snap"
ndat() { find "$R" -name '*.dat' -printf x | wc -c; }
# newest_present N LIST: the last N names of LIST (swapper output) exist
newest_present() {
	local miss
	miss=$(tail -n "$1" "$2" | while read -r f; do [ -e "$R/$f" ] || echo "$f"; done)
	[ -z "$miss" ] || fail "files the policy keeps were deleted: $(echo $miss)"
}

# A. --once in a loop
write_config <<EOC
[cleanup "tree"]
directory = $R
recursive = yes
pattern = *.dat
max_files = 600
EOC
# shellcheck disable=SC2086
sec_swap_sweeps "$R" "$STAGE" "$T/swapA" "$T/onceA" "phase A" $SUBS
sec_check "$DECOY" "$T/decoy.snap"
# the swapper's files are the newest: its last 600 are the 600 kept
sed -n '2,$p' "$T/swapA" >"$T/newestA"
newest_present 600 "$T/newestA"
sec_once "$T/onceA2" || fail "final sweep failed"
[ "$(ndat)" -eq 600 ] || fail "after the race one sweep left $(ndat) files, not 600"
sec_check "$DECOY" "$T/decoy.snap"

# B. running daemon, max_files = 50. Phase A's files go first: race.py
# dates file n at (start - 50000 s + n ms), so after a fast phase A (over
# 10,000 swaps) its newest files would be newer than phase B's and rightly
# kept in their place.
find "$R" -name 'new*.dat' -delete
write_config <<EOC
[cleanup "tree"]
directory = $R
recursive = yes
pattern = *.dat
max_files = 50
$(sec_canary_conf)
EOC
start_daemon
conv() { [ "$(ndat)" -eq 50 ]; }
sec_probe   # the daemon serves events before the race starts
python3 "$SEC_DIR/race.py" swap "$R" "$DECOY" "$STAGE" "$SECS" 1000 $SUBS >"$T/swapB" &
SW=$!
SEC_PIDS="$SEC_PIDS $SW"
wait $SW || fail "swapper failed"
swapsB=$(awk '/^swaps/ {print $2}' "$T/swapB")
echo "phase B: $swapsB swaps" >&2
[ "$swapsB" -ge 1000 ] || fail "only $swapsB swaps"
sec_probe
sed -n '2,$p' "$T/swapB" >"$T/newestB"
newest_present 50 "$T/newestB"
sec_check "$DECOY" "$T/decoy.snap"
wait_until conv || fail "daemon did not converge to 50 files after the race: $(ndat)"
newest_present 50 "$T/newestB"
sec_probe
sec_check "$DECOY" "$T/decoy.snap"
stop_daemon || fail "daemon did not stop cleanly"
exit 0
