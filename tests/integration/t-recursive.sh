#!/bin/sh
# recursive = yes: the pattern matches names at any depth, subdirectories
# created later are watched at once, directories are never deleted, and
# neither lost+found nor a mount point inside is entered.
. "$(dirname "$0")/lib.sh"
D="$T/tree"
mkdir -p "$D/a/b/c" "$D/lost+found" "$D/x"
now=$(date +%s)
i=0
for d in "$D" "$D/a" "$D/a/b" "$D/a/b/c"; do
	for n in 1 2; do
		i=$((i + 1))
		echo "$i" >"$d/f$i.log"
		touch -d "@$((now - 1000 + i))" "$d/f$i.log"
	done
done
echo lf >"$D/lost+found/old.log"
touch -d "@$((now - 5000))" "$D/lost+found/old.log"
echo keep >"$D/a/notes.txt"
mounted=no
if [ "$(id -u)" = 0 ] && mount -t tmpfs tmpfs "$D/x" 2>/dev/null; then
	mounted=yes
	HK_EXTRA_CLEANUP="umount '$D/x' 2>/dev/null || umount -l '$D/x'"
	echo m >"$D/x/inside.log"
	touch -d "@$((now - 9000))" "$D/x/inside.log"
fi
write_config <<EOC
[cleanup "tree"]
directory = $D
pattern = *.log
recursive = yes
max_files = 3
EOC
start_daemon
# 8 matching files in the tree: the 5 oldest (f1..f5) go, f6..f8 stay
wait_until test ! -e "$D/a/b/f5.log" || fail "recursive count limit not enforced"
sleep 0.3
for f in a/b/c/f7.log a/b/c/f8.log a/b/f6.log a/notes.txt lost+found/old.log; do
	[ -e "$D/$f" ] || fail "$f deleted"
done
for f in f1.log f2.log a/f3.log a/f4.log a/b/f5.log; do
	[ ! -e "$D/$f" ] || fail "$f not deleted"
done
[ -d "$D/a/b/c" ] || fail "a directory was deleted"
[ $mounted = no ] || [ -e "$D/x/inside.log" ] || fail "a file behind a mount point was deleted"
# a new subdirectory is watched as soon as it appears
mkdir -p "$D/new/deeper"
sleep 0.3
for n in 1 2 3 4; do echo "$n" >"$D/new/deeper/n$n.log"; sleep 0.05; done
wait_until test ! -e "$D/a/b/c/f8.log" || fail "files in a new subdirectory not counted: $(find "$D" -name '*.log' | sort)"
[ "$(find "$D" -name '*.log' -not -path '*/lost+found/*' -not -path "$D/x/*" | wc -l)" -eq 3 ] ||
	fail "wrong count: $(find "$D" -name '*.log' | sort)"
exit 0
