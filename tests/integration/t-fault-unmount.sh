#!/bin/sh
# A registered directory that is a mount point and gets unmounted (or
# lazily detached) under the running daemon: no crash, no spinning, no
# deletion in what it was; the daemon picks up the directory now at that
# path (the mount point underneath) and enforces there; a new mount is
# picked up the same way.
. "$(dirname "$0")/lib.sh"
need_root
D="$T/mnt"
mkdir -p "$D"
mount -t tmpfs tmpfs "$D" 2>/dev/null || skip "cannot mount tmpfs"
HK_EXTRA_CLEANUP="umount '$D' 2>/dev/null; umount -l '$D' 2>/dev/null; true"
mkfiles "$D" m 6
write_config <<EOC
[cleanup "mnt"]
directory = $D
max_files = 3
EOC
start_daemon
wait_until count_is "$D" 3 || fail "limit not enforced on the mounted directory"
umount "$D" 2>/dev/null || umount -l "$D" || fail "umount"
# the directory underneath: files there are enforced too
for i in 1 2 3 4 5; do echo "$i" >"$D/u$i"; sleep 0.05; done
wait_until count_is "$D" 3 || fail "directory under the mount point not enforced: $(names "$D")"
kill -0 "$HK_PID" || fail "daemon died on unmount"
# mounted again: the new filesystem is the directory now
mount -t tmpfs tmpfs "$D" || fail "mount again"
for i in 1 2 3 4 5 6; do echo "$i" >"$D/n$i"; sleep 0.05; done
wait_until count_is "$D" 3 || fail "new mount not enforced: $(names "$D")"
# no busy loop: the daemon is idle again
sleep 1
t1=$(awk '{print $14 + $15}' /proc/"$HK_PID"/stat)
sleep 2
t2=$(awk '{print $14 + $15}' /proc/"$HK_PID"/stat)
[ $((t2 - t1)) -lt 20 ] || fail "daemon busy after the remounts: $((t2 - t1)) ticks in 2 s"
exit 0
