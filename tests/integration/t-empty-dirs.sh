#!/bin/sh
# remove_empty_dirs = yes (recursive): empty subdirectories older than
# retention are removed, bottom-up; never the root, never one that holds
# anything (a file the pattern does not match included), never a mount
# point; a dry run removes nothing but reports them; a daemon looks for
# them after its first scan, and after its deletions.
. "$(dirname "$0")/lib.sh"
D="$T/tree"
mkdir -p "$D/old/a/b" "$D/old2" "$D/young" "$D/full" "$D/mnt"
echo keep >"$D/full/notes.txt"
now=$(date +%s)
old=$((now - 3 * 86400))
mounted=no
if [ "$(id -u)" = 0 ] && mount -t tmpfs tmpfs "$D/mnt" 2>/dev/null; then
	mounted=yes
	HK_EXTRA_CLEANUP="umount '$D/mnt' 2>/dev/null || umount -l '$D/mnt'"
fi
touch -d "@$old" "$D/old/a/b" "$D/old/a" "$D/old" "$D/old2" "$D/full/notes.txt" "$D/full" \
	"$D/mnt" "$D"
write_config <<EOC
[cleanup "tree"]
directory = $D
pattern = *.log
recursive = yes
retention = 1d
remove_empty_dirs = yes
EOC
"$HKD" --once --dry-run -c "$T/hk.conf" -S "$T/state" >"$T/dry" 2>"$T/dry.err" ||
	fail "dry run failed: $(cat "$T/dry.err")"
grep -q "old/a/b/" "$T/dry" || fail "dry run does not report old/a/b/: $(cat "$T/dry")"
[ -d "$D/old/a/b" ] && [ -d "$D/old2" ] || fail "the dry run removed a directory"
"$HKD" --once -c "$T/hk.conf" -S "$T/state" >"$T/once" 2>"$T/once.err" ||
	fail "--once failed: $(cat "$T/once.err")"
[ ! -e "$D/old" ] || fail "old empty directories not removed: $(find "$D/old")"
[ ! -e "$D/old2" ] || fail "old2 not removed"
[ -d "$D" ] || fail "the root was removed"
[ -d "$D/young" ] || fail "a young empty directory was removed"
[ -e "$D/full/notes.txt" ] || fail "a non-empty directory was removed"
[ -d "$D/mnt" ] || fail "a mount point was removed"
[ $mounted = no ] || awk -v m="$D/mnt" '$2 == m { f = 1 } END { exit !f }' /proc/self/mounts ||
	fail "the mount is gone"

# a daemon started on a tree with an old empty directory and nothing to
# delete removes it after its first scan (no sweep, no deletion first)
mkdir -p "$D/stale/inner"
touch -d "@$old" "$D/stale/inner" "$D/stale"
start_daemon
wait_until test ! -e "$D/stale" || fail "an old empty directory not removed after the first scan"
[ -d "$D/young" ] && [ -e "$D/full/notes.txt" ] && [ -d "$D/mnt" ] || fail "kept directories removed"
stop_daemon || fail "daemon exit status"

# a running daemon: files it deletes leave their directory empty; once
# that directory is older than retention it goes too (the age timer)
mkdir -p "$D/job/deep"
echo x >"$D/job/deep/x.log"
touch -d "@$old" "$D/job/deep/x.log"
write_config <<EOC
[cleanup "tree"]
directory = $D
pattern = *.log
recursive = yes
retention = 3s
remove_empty_dirs = yes
EOC
start_daemon
wait_until test ! -e "$D/job/deep/x.log" || fail "x.log not deleted"
wait_until test ! -e "$D/job" ||
	fail "directories emptied by deletions not removed: $(find "$D/job")"
[ -e "$D/full/notes.txt" ] && [ -d "$D/mnt" ] && [ -d "$D" ] || fail "kept directories removed"
exit 0
