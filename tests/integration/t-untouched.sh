#!/bin/sh
# With a policy that selects everything (max_files = 0), only matching
# regular files are deleted: symlinks (to files and directories outside),
# FIFOs, sockets, subdirectories, excluded files, a file held under flock,
# and anything behind a mount point inside the directory stay.
. "$(dirname "$0")/lib.sh"
D="$T/dir"
OUT="$T/outside"
mkdir -p "$D/sub" "$OUT/d"
echo secret >"$OUT/target"
echo secret >"$OUT/d/inner"
echo inner >"$D/sub/inner.log"
ln -s "$OUT/target" "$D/link-file.log"
ln -s "$OUT/d" "$D/link-dir.log"
mkfifo "$D/fifo.log"
python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$D/sock.log"
echo keep >"$D/keep-me.log"
echo locked >"$D/locked.log"
echo plain >"$D/plain.log"
echo other >"$D/other.txt"
mounted=no
if [ "$(id -u)" = 0 ] && mkdir -p "$D/mnt" && mount -t tmpfs tmpfs "$D/mnt" 2>/dev/null; then
	mounted=yes
	HK_EXTRA_CLEANUP="umount '$D/mnt' 2>/dev/null || umount -l '$D/mnt'"
	echo data >"$D/mnt/inside.log"
fi
# hold a BSD lock on locked.log for the whole test
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1])
fcntl.flock(f, fcntl.LOCK_EX)
open(sys.argv[2], "w").close()
time.sleep(600)' "$D/locked.log" "$T/locked" &
LOCK_PID=$!
HK_EXTRA_CLEANUP="${HK_EXTRA_CLEANUP:-true}; kill $LOCK_PID 2>/dev/null"
wait_until test -e "$T/locked" || fail "could not take the lock"
write_config <<EOC
[cleanup "all"]
directory = $D
pattern = *.log
exclude = keep-*
max_files = 0
EOC
start_daemon
wait_until test ! -e "$D/plain.log" || fail "plain matching file not deleted"
sleep 0.5
for f in sub/inner.log link-file.log link-dir.log fifo.log sock.log keep-me.log locked.log other.txt; do
	[ -e "$D/$f" ] || [ -L "$D/$f" ] || fail "$f was deleted"
done
[ -L "$D/link-file.log" ] || fail "symlink replaced"
[ "$(cat "$OUT/target")" = secret ] || fail "symlink target touched"
[ -e "$OUT/d/inner" ] || fail "file behind a directory symlink deleted"
if [ $mounted = yes ]; then
	[ -e "$D/mnt/inside.log" ] || fail "file inside a mount point deleted"
fi
# the lock released, the file goes on the next event that re-evaluates it
kill $LOCK_PID
wait $LOCK_PID 2>/dev/null || true
touch "$D/locked.log"
wait_until test ! -e "$D/locked.log" || fail "unlocked file not deleted after its next event"
exit 0
