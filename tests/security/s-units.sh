#!/bin/bash
# Attacks on unit = directory (whole directories deleted):
#  A. a symlink inside an expired unit pointing outside (to a file and to
#     a directory of a decoy): the decoy is untouched, the symlink stays,
#     so does the unit directory holding it (not empty);
#  B. a mount inside an expired unit: nothing on it is deleted, the mount
#     point and the unit stay;
#  C. a tight loop (race.py swap) swaps the unit directories for symlinks
#     to the decoy (rename j00 j00.real; symlink decoy j00; ...; back)
#     while `--once` sweeps delete the expired units again and again: the
#     decoy (old matching files, an old empty directory) is byte- and
#     stat-identical, and after the race one sweep empties the units.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

DECOY="$T/decoy"
sec_make_decoy "$DECOY"
sec_snap "$DECOY" "$T/decoy.snap"
R="$T/jobs"
old='2001-01-02 00:00:00'
mkdir -p "$R/jA/deep" "$R/jB/m"
echo a >"$R/jA/deep/a.dat"
ln -s "$DECOY/a.log" "$R/jA/deep/file-link"
ln -s "$DECOY/sub" "$R/jA/dir-link"
mount -t tmpfs tmpfs "$R/jB/m" || skip "cannot mount tmpfs"
echo m >"$R/jB/m/on-mount.dat"
echo b >"$R/jB/b.dat"
find "$R" -exec touch -h -d "$old" {} +
write_config <<EOC
[cleanup "jobs"]
directory = $R
pattern = j*
unit = directory
retention = 1h
EOC
sec_once "$T/once1" || fail "sweep failed: $(tail -3 "$T/once1.err")"
[ ! -e "$R/jA/deep/a.dat" ] || fail "the unit's file was not deleted"
[ -L "$R/jA/deep/file-link" ] && [ -L "$R/jA/dir-link" ] || fail "a symlink inside the unit was removed"
[ -d "$R/jA/deep" ] || fail "a directory holding a symlink was removed"
[ ! -e "$R/jB/b.dat" ] || fail "jB's own file was not deleted"
[ -e "$R/jB/m/on-mount.dat" ] || fail "a file on a mount inside a unit was deleted"
awk -v m="$R/jB/m" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts || fail "the mount is gone"
sec_check "$DECOY" "$T/decoy.snap"
umount "$R/jB/m"
rm -rf "$R"

# C. the race
mkdir -p "$R" "$T/stage"
SUBS=$(printf 'j%02d ' $(seq 0 7))
for s in $SUBS; do
	mkdir -p "$R/$s/inner/empty"
	mkfifo "$R/$s/keep.fifo"   # never deleted: the unit directory stays for the swapper
	for n in 1 2 3; do echo "$s $n" >"$R/$s/inner/f$n.dat"; done
done
find "$R" -mindepth 1 -exec touch -h -d "$old" {} +
write_config <<EOC
[cleanup "jobs"]
directory = $R
pattern = j[0-9][0-9]
unit = directory
retention = 1h
EOC
# shellcheck disable=SC2086
sec_swap_sweeps "$R" "$T/stage" "$T/swap" "$T/onceC" "race" $SUBS
sec_check "$DECOY" "$T/decoy.snap"
sec_once "$T/once2" || fail "final sweep failed"
left=$(find "$R" -type f | wc -l)
[ "$left" -eq 0 ] || fail "after the race one sweep left $left files: $(find "$R" -type f | head)"
[ "$(find "$R" -type p | wc -l)" -eq 8 ] || fail "a FIFO was removed"
[ ! -e "$R/j00/inner" ] || fail "the units' emptied directories were not removed"
sec_check "$DECOY" "$T/decoy.snap"
exit 0
