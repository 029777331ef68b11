#!/bin/bash
# Attack: the registered directory itself (and, separately, a component of
# its path) is swapped for a symlink to a decoy directory, between two
# `--once` sweeps and under a running daemon, then files are created in the
# decoy (through the symlink and directly) to trigger events.
# Expected: the sweep after the swap reports the directory as unusable and
# deletes nothing; the daemon detaches (the old directory, now D.old, is no
# longer registered either: files created there stay); the decoy is byte-
# and stat-identical; when the real directory comes back the daemon
# enforces on it again.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

DECOY="$T/decoy"
sec_make_decoy "$DECOY"
P="$T/parent"
D="$P/logs"
mkdir -p "$D"
# a decoy parent with the same layout, for the path-component swap
DP="$T/decoy-parent"
sec_make_decoy "$DP/logs"
old_file() { echo "$2" >"$1"; touch -d '2001-01-01' "$1"; }
for i in 1 2 3; do old_file "$D/f$i.log" "$i"; done

write_config <<EOC
[cleanup "swapped"]
directory = $D
pattern = *
retention = 1s
$(sec_canary_conf)
EOC
sec_snap "$DECOY" "$T/decoy.snap"
sec_snap "$DP" "$T/dp.snap"

# 1. --once, swap, --once
sec_once "$T/once1" || fail "first sweep failed: $(cat "$T/once1.err")"
[ -z "$(ls -A "$D")" ] || fail "first sweep left $(ls -A "$D")"
mv "$D" "$D.old"
ln -s "$DECOY" "$D"
rc=0
sec_once "$T/once2" || rc=$?
grep -q "^deleted" "$T/once2" && fail "sweep through a swapped root deleted: $(cat "$T/once2")"
grep -q "error .*$D" "$T/once2" || fail "swapped root not reported as an error: $(cat "$T/once2")"
sec_check "$DECOY" "$T/decoy.snap"
# a component of the path swapped: parent -> symlink to a decoy parent
rm "$D"
mv "$D.old" "$D"
mv "$P" "$P.old"
ln -s "$DP" "$P"
sec_once "$T/once3" || true
grep -q "^deleted" "$T/once3" && fail "sweep through a swapped parent deleted: $(cat "$T/once3")"
sec_check "$DP" "$T/dp.snap"
rm "$P"
mv "$P.old" "$P"

# 2. running daemon: swap the root, then make events in the decoy
start_daemon
sec_probe
old_file "$T/stage" x
mv "$T/stage" "$D/before.log"
wait_until test ! -e "$D/before.log" || fail "daemon does not enforce before the swap"
for round in 1 2 3; do
	mv "$D" "$D.old"
	ln -s "$DECOY" "$D"
	# events in the decoy, through the symlink and directly, old and new
	old_file "$D/through-link$round.log" "t$round"
	old_file "$DECOY/direct$round.log" "d$round"
	old_file "$DECOY/sub/nested$round.log" "n$round"
	touch "$DECOY/a.log"
	touch -d '2001-01-01' "$DECOY/a.log" "$DECOY" "$DECOY/sub"
	sec_snap "$DECOY" "$T/decoy.snap"
	# and in the old directory, no longer registered
	old_file "$D.old/orphan$round.log" "o$round"
	sec_probe
	sleep 1.2   # longer than the retention: an age timer would fire
	sec_probe
	sec_check "$DECOY" "$T/decoy.snap"
	[ -e "$D.old/orphan$round.log" ] ||
		fail "file in the moved-away old root deleted (round $round)"
	# the real directory comes back: enforced again
	rm "$D"
	mv "$D.old" "$D"
	wait_until test ! -e "$D/orphan$round.log" ||
		{ sec_fail_later "directory restored but not enforced again (round $round): $(ls -A "$D")"; HK_WAIT=3; }
done
# swap the parent while running
mv "$P" "$P.old"
ln -s "$DP" "$P"
old_file "$DP/logs/via-parent.log" p
touch -d '2001-01-01' "$DP/logs"
sec_snap "$DP" "$T/dp.snap"
sec_probe
sleep 1.2
sec_probe
sec_check "$DP" "$T/dp.snap"
sec_check "$DECOY" "$T/decoy.snap"
rm "$P"
mv "$P.old" "$P"
old_file "$D/after.log" a
wait_until test ! -e "$D/after.log" || sec_fail_later "not enforced after the parent came back"
stop_daemon || fail "daemon did not stop cleanly"
sec_finish
