#!/bin/bash
# Attack: an expired unit (unit = directory) is swapped for a symlink to a
# victim directory right before its deletion (an LD_PRELOAD shim does the
# swap inside the daemon at the exact call, unit-swap-shim.c):
#  A. at the unlink of the unit's first file;
#  B. at the removal of its first directory (bottom-up: its deepest).
# Expected: the victim tree is byte- and stat-identical, the symlink is
# left where it is, and nothing outside the registered directory (the
# moved-away unit apart, whose decided files may go) is touched.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"
command -v cc >/dev/null 2>&1 || skip "needs cc"
if ldd "$HKD" 2>/dev/null | grep -q libasan; then
	skip "ASan build: LD_PRELOAD shims do not mix with ASan"
fi
cc -shared -fPIC -o "$T/swap.so" "$SEC_DIR/unit-swap-shim.c" -ldl 2>"$T/cc.err" ||
	skip "cannot build the LD_PRELOAD shim: $(cat "$T/cc.err")"
VICTIM="$T/victim"
sec_make_decoy "$VICTIM"
mkdir -p "$VICTIM/job1/deep"   # the unit's names exist in the victim too
echo v >"$VICTIM/job1/deep/v.dat"
touch -d '2001-01-01' "$VICTIM/job1/deep/v.dat" "$VICTIM/job1/deep" "$VICTIM/job1"
sec_snap "$VICTIM" "$T/victim.snap"
R="$T/jobs"
for at in file rmdir; do
	rm -rf "$R" "$T/away"
	mkdir -p "$R/job1/deep" "$R/job2"
	for n in 1 2 3; do echo "$n" >"$R/job1/deep/f$n.dat"; done
	echo x >"$R/job1/x.dat"
	echo y >"$R/job2/y.dat"
	find "$R" -mindepth 1 -exec touch -h -d '2001-01-02' {} +
	write_config <<EOC
[cleanup "jobs"]
directory = $R
pattern = job1
unit = directory
retention = 1d
EOC
	rc=0
	HK_SWAP_AT=$at HK_SWAP_UNIT="$R/job1" HK_SWAP_AWAY="$T/away" HK_SWAP_VICTIM="$VICTIM" \
		LD_PRELOAD="$T/swap.so" timeout -k 5 $((HK_WAIT * 3)) "$HKD" --once -c "$T/hk.conf" \
		-S "$T/state-$at" >"$T/once-$at" 2>"$T/once-$at.err" || rc=$?
	case $rc in 0 | 1) ;; *) fail "$at: --once exited $rc: $(tail -3 "$T/once-$at.err")" ;; esac
	grep -q "unit-swap-shim: swapped" "$T/once-$at.err" ||
		fail "$at: the shim did not swap: $(tail -5 "$T/once-$at.err")"
	sed "s/^/$at: /" "$T/once-$at.err" >&2
	find "$T/away" "$R" >&2 2>/dev/null || true
	sec_check "$VICTIM" "$T/victim.snap"
	[ -L "$R/job1" ] || fail "$at: the symlink put in place of the unit was removed"
	[ -e "$R/job2/y.dat" ] || fail "$at: a unit the pattern does not match lost a file"
	# a second sweep sees a symlink where the unit was: nothing to do
	sec_once "$T/again-$at" || fail "$at: second sweep failed"
	sec_check "$VICTIM" "$T/victim.snap"
	[ -L "$R/job1" ] || fail "$at: the symlink was removed by the second sweep"
done
exit 0
