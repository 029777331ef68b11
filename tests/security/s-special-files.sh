#!/bin/bash
# Attack: special files with matching names in registered directories
# selecting everything: FIFOs (no writer: an open without O_NONBLOCK would
# hang the single-threaded daemon), UNIX sockets, character and block
# device nodes, mode-000 files and directories, immutable and append-only
# files (chattr; skipped if the filesystem refuses), and a name flipping
# between a regular file and a FIFO while the daemon enforces.
# Expected: only regular matching files are deleted (mode 000 does not
# protect a regular file from root: it goes); the special files stay; the
# immutable / append-only files stay, their failure is logged ("cannot
# delete") and the daemon keeps serving; --once exits 1 (a failed
# deletion) but does not hang.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

F="$T/flat"
R="$T/rec"
mkdir -p "$F" "$R/locked-dir" "$R/open"
populate() {
	local d=$1
	mkfifo "$d/fifo.log"
	python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$d/sock.log"
	mknod "$d/null.log" c 1 3
	mknod "$d/zero.log" c 1 5
	mknod "$d/loop.log" b 7 0
	echo hidden >"$d/mode000.log"
	chmod 000 "$d/mode000.log"
	echo plain >"$d/plain.log"
	touch -h -d '2001-01-01' "$d"/*.log
}
populate "$F"
populate "$R/open"
echo inside >"$R/locked-dir/inside.log"
touch -d 2001-01-01 "$R/locked-dir/inside.log"
chmod 000 "$R/locked-dir"
IMM=no
echo imm >"$F/immutable.log"
echo app >"$F/append.log"
if chattr +i "$F/immutable.log" 2>/dev/null && chattr +a "$F/append.log" 2>/dev/null; then
	IMM=yes
	SEC_IMMUTABLE="$F/immutable.log $F/append.log"
else
	rm -f "$F/immutable.log" "$F/append.log"
	echo "chattr +i/+a not supported here: that part is skipped" >&2
fi

write_config <<EOC
[cleanup "flat-all"]
directory = $F
max_files = 0

[cleanup "rec-all"]
directory = $R
recursive = yes
pattern = *.log
retention = 1s
$(sec_canary_conf)
EOC
specials_stay() {
	local d
	for d in "$F" "$R/open"; do
		[ -p "$d/fifo.log" ] || fail "$d/fifo.log removed"
		[ -S "$d/sock.log" ] || fail "$d/sock.log removed"
		[ -c "$d/null.log" ] && [ -c "$d/zero.log" ] || fail "$d: device node removed"
		[ -b "$d/loop.log" ] || fail "$d/loop.log removed"
	done
	[ -d "$R/locked-dir" ] || fail "mode-000 directory removed"
	if [ $IMM = yes ]; then
		[ "$(cat "$F/immutable.log")" = imm ] || fail "immutable file removed or changed"
		[ "$(cat "$F/append.log")" = app ] || fail "append-only file removed or changed"
	fi
}
regular_gone() {
	sec_nothing "$F" "$R" -type f ! -name immutable.log ! -name append.log
}

rc=0
sec_once "$T/once1" || rc=$?
specials_stay
regular_gone || fail "regular files left by --once: $(find "$F" "$R" -type f)"
if [ $IMM = yes ]; then
	[ $rc = 1 ] || fail "--once should exit 1 when a deletion failed (got $rc)"
	grep -q "^failed.*immutable.log" "$T/once1" || fail "immutable failure not reported: $(cat "$T/once1")"
fi

start_daemon
sec_probe
# new special files and regular files as events, the mode-000 dir refilled
populate_new() {
	local d=$1 i=$2
	mkfifo "$d/newfifo$i.log"
	mknod "$d/newnull$i.log" c 1 3
	python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])" "$d/newsock$i.log"
	echo "x" >"$T/stage"
	chmod 000 "$T/stage"
	mv "$T/stage" "$d/newplain$i.log"
}
for i in 1 2 3; do
	populate_new "$F" $i
	populate_new "$R/open" $i
	echo "y" >"$R/locked-dir/new$i.log"
	[ $IMM = no ] || touch "$F/append.log" 2>/dev/null || true
done
sec_probe
wait_until regular_gone || fail "regular files left: $(find "$F" "$R" -type f)"
for i in 1 2 3; do
	[ -p "$F/newfifo$i.log" ] && [ -c "$F/newnull$i.log" ] && [ -S "$F/newsock$i.log" ] ||
		fail "new special file $i removed"
done
specials_stay
if [ $IMM = yes ]; then
	# failures are logged once per registration: either name will do
	grep -Eq "(immutable|append)\.log: cannot delete" "$HK_LOG" || fail "immutable failure not logged"
fi

# a name flipping between a FIFO and a regular file while the daemon
# enforces max_files = 0 on it (a stat-then-open race onto a FIFO)
python3 - "$F" <<'EOP'
import os, sys, time
d = sys.argv[1]
end = time.monotonic() + 2.0
n = 0
while time.monotonic() < end:
    n += 1
    tmp = os.path.join(os.path.dirname(d), ".tmp-flip")
    if n % 2:
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
        os.write(fd, b"r")
        os.close(fd)
    else:
        os.mkfifo(tmp)
    os.rename(tmp, os.path.join(d, "flip.log"))
print("flips", n, file=sys.stderr)
EOP
sec_probe
specials_stay
sec_alive || fail "daemon died"
stop_daemon || fail "daemon did not stop cleanly"
exit 0
