#!/bin/sh
# A lock is kept to its own file system (SPEC 7): /proc/locks names each
# locked file by device and inode, and another file system's lock on the
# same inode number must not keep a file here. Two fresh tmpfs mounts
# number their files alike (2, 3, ...): every file of B is locked, every
# file of A expired.
# Expected: --once and the running daemon delete every file of A (before:
# those whose numbers matched B's locks were "kept (locked)"), and the
# locked files of B stay untouched.
. "$(dirname "$0")/../integration/lib.sh"
need_root
command -v python3 >/dev/null || skip "needs python3"
A="$T/a"
B="$T/b"
mkdir -p "$A" "$B"
mount -t tmpfs -o size=4m hk-a "$A" || skip "cannot mount tmpfs"
HK_EXTRA_CLEANUP="umount -l '$A' 2>/dev/null; umount -l '$B' 2>/dev/null"
mount -t tmpfs -o size=4m hk-b "$B" || skip "cannot mount tmpfs"
for i in 1 2 3 4 5 6; do
	echo "$i" >"$A/a$i.log"
	echo "$i" >"$B/b$i.log"
done
touch -d 2001-01-01 "$A"/*.log "$B"/*.log
same=0
for i in 1 2 3 4 5 6; do
	[ "$(stat -c %i "$A/a$i.log")" = "$(stat -c %i "$B/b$i.log")" ] && same=$((same + 1))
done
[ "$same" -gt 0 ] || skip "the two tmpfs mounts numbered their files differently"
python3 - "$B" "$T/locked" <<'PY' &
import fcntl, os, sys, time
d, ready = sys.argv[1], sys.argv[2]
fds = []
for n in sorted(os.listdir(d)):
    fd = os.open(os.path.join(d, n), os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    fds.append(fd)
open(ready, "w").write("ok\n")
time.sleep(600)
PY
LOCKER=$!
HK_EXTRA_CLEANUP="kill $LOCKER 2>/dev/null; $HK_EXTRA_CLEANUP"
wait_until test -s "$T/locked" || fail "the locker did not start"
write_config <<EOC
[cleanup "a"]
directory = $A
retention = 1h
EOC
"$HKD" --once -c "$T/hk.conf" -S "$T/state" >>"$HK_LOG" 2>&1 || fail "--once failed"
left=$(ls "$A")
[ -z "$left" ] || fail "--once kept files of A for locks on B ($same inode numbers alike): $left"
for i in 1 2 3 4 5 6; do
	echo "$i" >"$A/a$i.log"
done
touch -d 2001-01-01 "$A"/*.log
start_daemon
wait_until sh -c "[ -z \"\$(ls '$A')\" ]" || fail "the daemon kept files of A: $(ls "$A")"
[ "$(ls "$B" | wc -l)" = 6 ] || fail "files of B were touched: $(ls "$B")"
grep -q "kept (locked)" "$HK_LOG" && fail "a file of A was kept as locked"
stop_daemon || fail "daemon exit"
exit 0
