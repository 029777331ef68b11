#!/bin/bash
# Attack: mounts inside registered directories (flat and recursive): a
# tmpfs, a bind mount of a decoy directory (same filesystem: only the mount
# root attribute tells it apart), a bind mount of a single decoy file over
# a matching name, and a bind mount made after the daemon pinned and
# watched the directory it covers. Policies select everything.
# Expected: nothing inside any mount is deleted (SPEC 7: mount points are
# never crossed, a mount point is never unlinked), every other regular file
# goes, the daemon stays up.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

DECOY="$T/decoy"
sec_make_decoy "$DECOY"
F="$T/flat"
R="$T/rec"
mkdir -p "$F/tmpfs" "$F/bind" "$R/a/tmpfs" "$R/a/bind" "$R/late" "$R/b"
mount -t tmpfs -o size=4m hk-sec "$F/tmpfs" 2>/dev/null || skip "cannot mount tmpfs"
mount --bind "$DECOY" "$F/bind" || skip "cannot bind mount"
mount -t tmpfs -o size=4m hk-sec "$R/a/tmpfs"
mount --bind "$DECOY/sub" "$R/a/bind"
for m in "$F/tmpfs" "$R/a/tmpfs"; do
	mkdir -p "$m/d"
	for n in 1 2 3; do echo "t$n" >"$m/t$n.log"; echo "d$n" >"$m/d/d$n.log"; done
	touch -d '2001-01-01' "$m"/*.log "$m"/d/*.log "$m/d"
done
# file bind mounts over matching names
echo placeholder >"$F/over.log"
mount --bind "$DECOY/a.log" "$F/over.log"
echo placeholder >"$R/a/over.log"
mount --bind "$DECOY/b.dat" "$R/a/over.log"
# plain files that must go
for d in "$F" "$R" "$R/a" "$R/late" "$R/b"; do echo plain >"$d/plain.log"; done

write_config <<EOC
[cleanup "flat-all"]
directory = $F
max_files = 0

[cleanup "rec-all"]
directory = $R
recursive = yes
retention = 1s
$(sec_canary_conf)
EOC
touch -d '2001-01-01' "$F/plain.log" "$R/plain.log" "$R"/*/plain.log
snap_all() {
	sec_snap "$DECOY" "$T/decoy.snap"
	sec_snap "$F/tmpfs" "$T/ft.snap"
	sec_snap "$R/a/tmpfs" "$T/rt.snap"
}
check_all() {
	sec_check "$DECOY" "$T/decoy.snap"
	sec_check "$F/tmpfs" "$T/ft.snap"
	sec_check "$R/a/tmpfs" "$T/rt.snap"
	[ -z "$(find "$F" "$R" -xdev -type f -name 'plain*')" ] ||
		fail "plain files left: $(find "$F" "$R" -xdev -type f -name 'plain*')"
}
snap_all

rc=0
sec_once "$T/once1" || rc=$?
check_all
grep -q "over.log" "$T/once1" && ! grep -q "^refused\|^failed" "$T/once1" &&
	fail "bind-mounted file selected: $(cat "$T/once1")"

start_daemon
sec_probe
check_all
# events inside the mounts and on the mount points
for i in 1 2; do
	echo "x$i" >"$F/tmpfs/new$i.log"
	echo "y$i" >"$R/a/tmpfs/d/new$i.log"
	echo "z$i" >"$F/bind/new$i.log"       # lands in the decoy
	echo "w$i" >"$R/a/bind/new$i.log"     # lands in decoy/sub
	touch "$F/over.log" "$R/a/over.log"   # IN_ATTRIB on the mount point name
	echo "p$i" >"$R/plain$i.log"
done
touch -d '2001-01-01' "$F/tmpfs/"new* "$R/a/tmpfs/d/"new* "$F/bind/"new* "$R/a/bind/"new* \
	"$DECOY" "$DECOY/sub" "$F/tmpfs" "$R/a/tmpfs/d" "$DECOY/a.log" "$DECOY/b.dat"
snap_all
sec_probe
wait_until sec_nothing "$R" -xdev -name 'plain*' -type f || fail "plain files not deleted: $(find "$R" -xdev -name 'plain*' -type f -printf "%p %T@\n")"
sleep 1.2
sec_probe
check_all

# a bind mount made over a directory the daemon already pinned and watches
mount --bind "$DECOY" "$R/late"
for i in 1 2; do echo "l$i" >"$R/late/late$i.log"; done
touch -d '2001-01-01' "$DECOY"/late* "$DECOY"
# and a tmpfs mounted over the pinned subdirectory b, new files in it
mount -t tmpfs -o size=1m hk-sec "$R/b"
echo b >"$R/b/inb.log"
touch -d '2001-01-01' "$R/b/inb.log" "$R/b"
sec_snap "$R/b" "$T/b.snap"
snap_all
sec_probe
sleep 1.2
sec_probe
check_all
sec_check "$R/b" "$T/b.snap"
# a sweep now sees the mounts fresh
sec_once "$T/once2" || true
check_all
sec_check "$R/b" "$T/b.snap"
sec_alive || fail "daemon died"
stop_daemon || fail "daemon did not stop cleanly"
exit 0
