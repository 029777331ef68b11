#!/bin/bash
# Attack: symlinks inside registered directories pointing to files and
# directories of a decoy tree outside, under policies that select
# everything (pattern = * with max_files = 0; retention = 1s with the
# symlinks and their targets dated 2001), in a flat and in a recursive
# registration; at the first scan, on --once, and as events while running.
# Expected: every real regular file goes, every symlink stays (SPEC 7: only
# regular files are unlinked), the decoy is byte- and stat-identical.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

DECOY="$T/decoy"
sec_make_decoy "$DECOY"
F="$T/flat"
A="$T/aged"
R="$T/rec"
mkdir -p "$F" "$A" "$R/sub/deep"

plant() {   # plant DIR: symlinks to every kind of decoy object + real files
	local d=$1
	ln -s "$DECOY/a.log" "$d/to-file.log"
	ln -s "$DECOY/sub" "$d/to-dir"
	ln -s "$DECOY/sub" "$d/to-dir.log"
	ln -s "$DECOY" "$d/to-root"
	ln -s ../decoy/b.log "$d/relative.log"
	ln -s "$DECOY/sub/deeper/a.log" "$d/a.log"
	ln -s "$DECOY/nonexistent" "$d/dangling.log"
	ln -s . "$d/self"
	echo real1 >"$d/real1.log"
	echo real2 >"$d/real2.dat"
	find "$d" -maxdepth 1 -mindepth 1 -exec touch -h -d '2001-01-01' {} +
}
plant "$F"
plant "$A"
plant "$R"
plant "$R/sub"
plant "$R/sub/deep"
ln -s "$DECOY/sub" "$R/sub/deep/looks-like-dir"

write_config <<EOC
[cleanup "flat-all"]
directory = $F
pattern = *
max_files = 0

[cleanup "aged"]
directory = $A
retention = 1s

[cleanup "rec-all"]
directory = $R
recursive = yes
max_files = 0
$(sec_canary_conf)
EOC
sec_snap "$DECOY" "$T/decoy.snap"

# expected survivors: every symlink (and directory) stays, no regular file
expect_links() {
	local d
	for d in "$F" "$A" "$R" "$R/sub" "$R/sub/deep"; do
		for l in to-file.log to-dir to-dir.log to-root relative.log a.log dangling.log self; do
			[ -L "$d/$l" ] || fail "symlink $d/$l was removed or replaced"
		done
	done
	[ -L "$R/sub/deep/looks-like-dir" ] || fail "directory symlink removed"
	[ -d "$R/sub/deep" ] || fail "subdirectory removed"
	[ -z "$(find "$F" "$A" "$R" -type f)" ] || fail "regular files left: $(find "$F" "$A" "$R" -type f)"
}

# 1. one-shot sweep
sec_once "$T/once1" || fail "--once failed: $(cat "$T/once1" "$T/once1.err")"
expect_links
sec_check "$DECOY" "$T/decoy.snap"
grep -q "to-\|relative\|dangling\|self" "$T/once1" && fail "a symlink was selected: $(cat "$T/once1")"

# 2. running daemon: initial scan, then new links and new files as events
plant_again() {
	local d=$1 i=$2
	ln -s "$DECOY/c.log" "$d/new-link$i.log"
	ln -s "$DECOY/sub" "$d/new-dirlink$i"
	touch -h -d '2001-01-01' "$d/new-link$i.log" "$d/new-dirlink$i"
	echo "new $i" >"$T/stage"
	touch -d '2001-01-01' "$T/stage"
	mv "$T/stage" "$d/new-real$i.log"
}
start_daemon
sec_probe
for i in 1 2 3; do
	plant_again "$F" $i
	plant_again "$A" $i
	plant_again "$R" $i
	plant_again "$R/sub/deep" $i
	# a new directory that is a symlink, then files "in" it (in the decoy)
	ln -s "$DECOY/empty" "$R/sub/evil$i"
	echo "created through a link" >"$R/sub/evil$i/made$i.log"
	echo "created in the decoy" >"$DECOY/sub/made$i.log"
done
touch -d '2001-01-01' "$DECOY/empty/"made* "$DECOY/sub/"made*
touch -d '2001-01-01' "$DECOY/empty" "$DECOY/sub"
sec_snap "$DECOY" "$T/decoy.snap"
# touch the links (IN_ATTRIB on the link itself) and the targets
for d in "$F" "$A" "$R"; do touch -h "$d/to-file.log" "$d/to-dir.log"; done
sec_probe
wait_until sec_nothing "$F" "$A" "$R" -type f || fail "new regular files not deleted: $(find "$F" "$A" "$R" -type f)"
sleep 0.3
sec_probe
expect_links
for i in 1 2 3; do
	for d in "$F" "$A" "$R" "$R/sub/deep"; do
		[ -L "$d/new-link$i.log" ] && [ -L "$d/new-dirlink$i" ] || fail "new symlink in $d removed"
	done
done
sec_check "$DECOY" "$T/decoy.snap"
stop_daemon || fail "daemon did not stop cleanly"
exit 0
