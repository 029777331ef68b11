#!/bin/bash
# Attack: hard links inside registered directories to decoy files (the
# same inode under a matching name), at the first scan, on --once and as
# events while running; in a flat registration selecting everything and a
# recursive one under an age limit.
# What is asserted: deleting the link NAME inside the registered directory
# is acceptable (it is a regular file matching the policy; SPEC 5/7 have no
# exception for st_nlink > 1), so those names go; the decoy keeps every
# name, inode, size, mtime, mode and byte; only its link count may drop,
# and it drops by exactly the number of link names removed (checked per
# decoy file: final nlink = 1 + links left in the registered dirs).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

DECOY="$T/decoy"
sec_make_decoy "$DECOY"
F="$T/flat"
R="$T/rec"
mkdir -p "$F" "$R/sub"
ln "$DECOY/a.log" "$F/a.log"
ln "$DECOY/b.log" "$F/link-b.log"
ln "$DECOY/secret.txt" "$F/secret.txt"
ln "$DECOY/sub/a.log" "$R/sub/x.log"
ln "$DECOY/big.bin" "$R/big.bin"
echo own >"$F/own.log"
write_config <<EOC
[cleanup "flat-all"]
directory = $F
max_files = 0

[cleanup "rec-age"]
directory = $R
recursive = yes
retention = 1h
$(sec_canary_conf)
EOC
SEC_NO_NLINK=1 sec_snap "$DECOY" "$T/decoy.snap"

# nlink of every decoy file must equal 1 + names of it left under $F and $R
check_nlink() {
	local f n want
	while IFS= read -r -d '' f; do
		n=$(stat -c %h "$f")
		want=$((1 + $(find "$F" "$R" -samefile "$f" | wc -l)))
		[ "$n" -eq "$want" ] || fail "$f: link count $n, expected $want"
	done < <(find "$DECOY" -type f -print0)
}

sec_once "$T/once1" || fail "--once failed: $(cat "$T/once1.err")"
[ -z "$(find "$F" "$R" -type f)" ] || fail "link names not deleted: $(find "$F" "$R" -type f)"
SEC_NO_NLINK=1 sec_check "$DECOY" "$T/decoy.snap"
check_nlink

start_daemon
sec_probe
for i in 1 2 3; do
	ln "$DECOY/c.log" "$F/new$i.log"
	ln "$DECOY/sub/deeper/b.log" "$R/sub/new$i.log"
	ln "$DECOY/c.dat" "$R/fresh$i.dat"   # dated 2001 like its decoy: expired
done
sec_probe
wait_until sec_nothing "$F" "$R" -type f || fail "new link names not deleted: $(find "$F" "$R" -type f)"
sec_probe
SEC_NO_NLINK=1 sec_check "$DECOY" "$T/decoy.snap"
check_nlink
stop_daemon || fail "daemon did not stop cleanly"
exit 0
