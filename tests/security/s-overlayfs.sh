#!/bin/bash
# Finding 9 of issue 14: overlayfs with its layers on different
# filesystems (lower: a tmpfs; upper and work: the test directory's
# filesystem, or a second tmpfs). In the merged view a directory reports
# the overlay's st_dev but a file the st_dev of the layer it lives on, so a
# "same st_dev as the directory" rule never indexes them, silently.
# Registrations (root's config): $M/reg recursive and the overlay's root
# $M itself, flat, both *.log with max_files = 0 (everything goes). Files:
# lower-layer files, files written through the merged view (upper layer),
# in the registered directories and a subdirectory; a non-matching file;
# and a bind mount of $M/decoy (same overlay, so same st_dev: only the
# mount id and the mount-root attribute tell it apart) at $M/reg/bind.
# Expected (SPEC 7 and issue 14: "not crossing a mount" is decided by the
# mount id plus the mount-root attribute): every *.log of the overlay in
# the registered trees is deleted, by `housekeeperd --once` and by the
# running daemon (its first scan, then new files written through the
# merged view: events); keep.txt stays; nothing under the bind mount (the
# decoy) is deleted, also when new files arrive through it.
# Skipped (77) when overlayfs cannot be mounted.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

O="$T/ovl"
M="$O/merged"
OLD='2001-01-01 00:00:00'
modprobe overlay 2>/dev/null || true
grep -qw overlay /proc/filesystems || skip "no overlayfs in this kernel"
mkdir -p "$O/lower" "$O/layers" "$M"
mount -t tmpfs -o size=8m hk-sec-lower "$O/lower" || skip "cannot mount tmpfs"

# stack_up: a fresh overlay at $M (lower files made first), the files
# written through it, the bind mount of the decoy
stack_up() {
	local l="$O/lower" upper
	rm -rf "${l:?}"/* "$O/layers/"*
	mkdir -p "$l/reg/sub" "$l/decoy/sub"
	for f in reg/low1.log reg/low2.log reg/sub/low3.log low4.log; do echo "lower $f" >"$l/$f"; done
	echo "lower keep" >"$l/reg/keep.txt"
	for f in decoy/d1.log decoy/sub/d2.log; do echo "decoy $f" >"$l/$f"; done
	find "$l" -mindepth 1 -exec touch -d "$OLD" {} +
	upper="$O/layers"
	mkdir -p "$upper/upper" "$upper/work"
	if ! mount -t overlay hk-sec-ovl -o "lowerdir=$l,upperdir=$upper/upper,workdir=$upper/work" "$M" 2>/dev/null; then
		# the test directory's filesystem may not serve as an upper layer
		mount -t tmpfs -o size=8m hk-sec-upper "$upper" || skip "cannot mount tmpfs"
		mkdir -p "$upper/upper" "$upper/work"
		mount -t overlay hk-sec-ovl -o "lowerdir=$l,upperdir=$upper/upper,workdir=$upper/work" "$M" ||
			skip "cannot mount overlayfs"
	fi
	for f in reg/up1.log reg/sub/up2.log up3.log decoy/d3.log; do echo "upper $f" >"$M/$f"; done
	touch -d "$OLD" "$M/reg/up1.log" "$M/reg/sub/up2.log" "$M/up3.log" "$M/decoy/d3.log"
	mkdir -p "$M/reg/bind"
	mount --bind "$M/decoy" "$M/reg/bind" || skip "cannot bind mount inside the overlay"
	sec_snap "$M/decoy" "$T/decoy.snap"
}
stack_down() {
	umount "$M/reg/bind" 2>/dev/null || umount -l "$M/reg/bind"
	umount "$M" 2>/dev/null || umount -l "$M"
	! mountpoint -q "$O/layers" || umount "$O/layers" 2>/dev/null || umount -l "$O/layers"
}
# the overlay's *.log files in the registered trees, not under the bind
# mount (same st_dev: find -xdev would not stop there)
left() {
	find "$M" -maxdepth 1 -name '*.log'
	find "$M/reg" -path "$M/reg/bind" -prune -o -name '*.log' -print
}
none_left() { [ -z "$(left)" ]; }
check() {
	local when=$1
	[ -z "$(left)" ] || sec_fail_later "$when: overlay files in the registered directories not deleted: $(left | tr '\n' ' ')"
	[ -e "$M/reg/keep.txt" ] || sec_fail_later "$when: $M/reg/keep.txt (no match) deleted"
	sec_snap "$M/decoy" "$T/decoy.snap.now"
	cmp -s "$T/decoy.snap" "$T/decoy.snap.now" ||
		sec_fail_later "$when: the bind-mounted decoy changed: $(diff "$T/decoy.snap" "$T/decoy.snap.now" | grep '^[<>]' | head -5 | tr '\n' ' ')"
}

write_config <<EOC
[cleanup "ovl-tree"]
directory = $M/reg
recursive = yes
pattern = *.log
max_files = 0

[cleanup "ovl-root"]
directory = $M
pattern = *.log
max_files = 0
$(sec_canary_conf)
EOC

# 1. --once
stack_up
# the layers really are on other filesystems than the merged view
[ "$(stat -c %d "$M/reg/low1.log")" != "$(stat -c %d "$M/reg")" ] ||
	echo "NOTE: this kernel reports one st_dev for files and directories of the overlay" >&2
sec_once "$T/once1" || sec_fail_later "--once exited non-zero: $(tail -n 5 "$T/once1.err")"
check "--once"
! grep -q "bind/" "$T/once1" || sec_fail_later "--once reported files under the bind mount: $(grep bind/ "$T/once1")"
stack_down

# 2. the running daemon: first scan, then events through the merged view
stack_up
start_daemon
sec_probe
wait_until none_left || true
sec_probe
check "daemon, first scan"
for i in 1 2 3; do
	echo "new $i" >"$M/reg/new$i.log"
	echo "new $i" >"$M/reg/sub/new$i.log"
	echo "new $i" >"$M/new$i.log"
	echo "decoy $i" >"$M/reg/bind/new$i.log"   # lands in the decoy
done
sec_snap "$M/decoy" "$T/decoy.snap"
wait_until none_left || true
sec_probe
sleep 0.5
sec_probe
check "daemon, events"
# a manual run (a sweep: rescan, then the policies) of the running daemon
"$HKCTL" -s "$T/state/housekeeper.sock" run >"$T/run" 2>&1 ||
	sec_fail_later "housekeeperctl run failed: $(tail -n 5 "$T/run")"
sec_probe
check "daemon, manual run"
! grep -q "bind/" "$T/run" || sec_fail_later "the run reported files under the bind mount: $(grep bind/ "$T/run")"
sec_alive || fail "daemon died"
stop_daemon || fail "daemon did not stop cleanly"
stack_down
sec_finish
