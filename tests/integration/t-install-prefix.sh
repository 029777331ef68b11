#!/bin/sh
# "make install" stays inside the prefix (issue 18, point 7): a staged
# install (DESTDIR) of the configured tree puts every file under
# DESTDIR/PREFIX - the systemd unit in PREFIX/lib/systemd/system, the
# bash completion under the data directory, the recipes under the doc
# directory - and nothing outside, so a non-root install into a prefix of
# one's own and distcheck's staged install work. (The unit goes elsewhere
# only when --with-systemdsystemunitdir names the directory.)
. "$(dirname "$0")/lib.sh"
command -v make >/dev/null 2>&1 || skip "needs make"
[ -f "$top_builddir/Makefile" ] || skip "no configured build tree"
prefix=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")
unitdir=$(sed -n 's/^systemdsystemunitdir = //p' "$top_builddir/Makefile")
[ -n "$prefix" ] || fail "no prefix in the Makefile"
case $unitdir in
'${prefix}'/*) ;;
*) skip "configured with --with-systemdsystemunitdir=$unitdir" ;;
esac
S="$T/stage"
rc=0
(unset MAKEFLAGS MFLAGS MAKELEVEL; make -C "$top_builddir" install DESTDIR="$S") >"$T/install.log" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "make install DESTDIR=: exit $rc: $(tail -20 "$T/install.log")"
find "$S" \( -type f -o -type l \) >"$T/files"
[ -s "$T/files" ] || fail "nothing installed"
outside=$(grep -v "^$S$prefix/" "$T/files" || true)
[ -z "$outside" ] || fail "installed outside the prefix $prefix: $outside"
for f in sbin/housekeeperd bin/housekeeperctl lib/systemd/system/housekeeper.service \
	share/man/man8/housekeeperd.8 share/doc/housekeeper/examples/ccache.conf \
	share/doc/housekeeper/examples/logrotate.conf; do
	[ -e "$S$prefix/$f" ] || fail "$prefix/$f not installed: $(sed "s|^$S||" "$T/files" | head -30)"
done
# the unit carries the configured paths and the watchdog
grep -q "^ExecStart=.*/housekeeperd -f\$" "$S$prefix/lib/systemd/system/housekeeper.service" ||
	fail "unit ExecStart"
grep -q '^WatchdogSec=' "$S$prefix/lib/systemd/system/housekeeper.service" || fail "unit without WatchdogSec="
exit 0
