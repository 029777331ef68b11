#!/bin/sh
# The Debian packages (contrib/debian/, issue 9): build them with the
# documented command (contrib/debian/build.sh), lintian them when lintian is
# installed (no errors), install them with dpkg -i, check what they put
# where, validate the packaged configuration with "housekeeperd -t", run the
# installed daemon in the foreground on a private config and state dir (not
# the system ones) and talk to it with the installed housekeeperctl and the
# installed Python client (python3-housekeeper), build the library's example
# against the -dev package, then remove and purge the packages and check
# that nothing is left.
#
# Building takes a minute or more and installs system packages: it runs
# only as root with HK_TEST_DEB=1, e.g.
#   HK_TEST_DEB=1 sh tests/integration/t-pkg-deb.sh
# It needs dpkg-dev and debhelper (apt-get install debhelper dh-autoreconf
# lintian) and the build dependencies of contrib/debian/control.
. "$(dirname "$0")/lib.sh"

[ "${HK_TEST_DEB:-}" = 1 ] || skip "set HK_TEST_DEB=1 to build and install the Debian packages"
need_root
command -v dpkg-buildpackage >/dev/null 2>&1 || fail "dpkg-buildpackage missing: apt-get install dpkg-dev debhelper"
command -v dh >/dev/null 2>&1 || fail "dh missing: apt-get install debhelper dh-autoreconf"

PKGS="housekeeper libhousekeeper0 libhousekeeper-dev python3-housekeeper"
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

# Never touch an installation that is already there: a packaged one, or a
# "make install" into /usr whose files dpkg would overwrite and a purge
# would delete.
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case $st in "" | "un "*) ;; *) skip "package $p is on this machine ($st): not touching it" ;; esac
done
for f in /etc/housekeeper /var/lib/housekeeper /usr/sbin/housekeeperd /usr/bin/housekeeperctl \
	/usr/lib/"$MA"/libhousekeeper.so.0 /usr/include/housekeeper.h /etc/init.d/housekeeper \
	/etc/default/housekeeper /lib/systemd/system/housekeeper.service /usr/lib/python3/dist-packages/housekeeper; do
	[ -e "$f" ] && skip "$f exists (an install from source?): not touching it"
done

# Cleanup, also after a failure: purge what this test installed, the
# dependencies "apt-get install -f" may have added, and the temporary
# policy-rc.d.
INSTALLED=
POLICY_RC_D=
pkg_cleanup() {
	if [ -n "$HK_PID" ]; then
		kill -9 "$HK_PID" 2>/dev/null
		wait "$HK_PID" 2>/dev/null
		HK_PID=
	fi
	if [ -n "$INSTALLED" ]; then
		dpkg -P $PKGS >/dev/null 2>&1
		if [ -s "$T/pkgs.before" ]; then
			dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package}\n' | awk '$1 == "ii" { print $2 }' |
				sort >"$T/pkgs.after"
			added=$(comm -13 "$T/pkgs.before" "$T/pkgs.after")
			[ -n "$added" ] && apt-get purge -y -qq $added >/dev/null 2>&1
		fi
	fi
	[ -n "$POLICY_RC_D" ] && rm -f /usr/sbin/policy-rc.d
}
HK_EXTRA_CLEANUP=pkg_cleanup

# The packages' maintainer scripts enable the service and, where init
# scripts or systemd run, start it. This test runs its own daemon, not the
# system one: forbid starts while the packages are installed, unless a
# policy-rc.d is already in place (containers have one that denies all).
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\n# temporary, from housekeeper t-pkg-deb.sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	POLICY_RC_D=1
fi

# --- build ---------------------------------------------------------------
echo "building the packages (contrib/debian/build.sh)..." >&2
# not the make check environment: its jobserver and variables are not the
# package build's
build_sh="$top_srcdir/contrib/debian/build.sh"
if ! (unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES top_srcdir top_builddir srcdir
	sh "$build_sh" "$T/debs") >"$T/build.log" 2>&1; then
	tail -n 60 "$T/build.log" >&2
	fail "dpkg-buildpackage failed"
fi
version=$(dpkg-parsechangelog -l "$top_srcdir/contrib/debian/changelog" -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
debfile() { # the .deb of package $1 (python3-housekeeper is Architecture: all)
	case $1 in python3-*) echo "$T/debs/${1}_${version}_all.deb" ;; *) echo "$T/debs/${1}_${version}_${arch}.deb" ;; esac
}
for p in $PKGS; do
	[ -s "$(debfile "$p")" ] || fail "$(basename "$(debfile "$p")") not built: $(ls "$T/debs")"
done

if command -v lintian >/dev/null 2>&1; then
	lintian --fail-on error "$T/debs/housekeeper_${version}_${arch}.changes" >"$T/lintian" 2>&1 ||
		fail "lintian errors: $(cat "$T/lintian")"
	grep '^[EW]:' "$T/lintian" >&2 || true
else
	echo "lintian not installed: packages not linted" >&2
fi

# --- install -------------------------------------------------------------
dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package}\n' | awk '$1 == "ii" { print $2 }' |
	sort >"$T/pkgs.before"
INSTALLED=1
debs=
for p in $PKGS; do debs="$debs $(debfile "$p")"; done
if ! dpkg -i $debs >"$T/dpkg.log" 2>&1; then
	# missing run-time dependencies: let apt bring them
	DEBIAN_FRONTEND=noninteractive apt-get install -f -y -qq >>"$T/dpkg.log" 2>&1 ||
		fail "dpkg -i failed: $(cat "$T/dpkg.log")"
fi
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	[ "$st" = "ii " ] || fail "$p not installed ($st): $(cat "$T/dpkg.log")"
done

# what goes where
for f in /usr/sbin/housekeeperd /usr/bin/housekeeperctl; do
	[ -x "$f" ] || fail "$f missing"
done
for f in /etc/housekeeper/housekeeper.conf \
	/etc/housekeeper/conf.d/myapp-logs.conf.example \
	/etc/housekeeper/conf.d/tracelogger.conf.example \
	/lib/systemd/system/housekeeper.service /etc/init.d/housekeeper \
	/etc/default/housekeeper /usr/share/doc/housekeeper/examples/ccache.conf \
	/usr/share/doc/housekeeper/examples/logrotate.conf \
	/usr/share/bash-completion/completions/housekeeperctl \
	/usr/share/man/man8/housekeeperd.8.gz /usr/share/man/man8/housekeeperctl.8.gz \
	/usr/share/man/man5/housekeeper.conf.5.gz /usr/share/man/man3/libhousekeeper.3.gz \
	/usr/lib/"$MA"/libhousekeeper.so.0 /usr/lib/"$MA"/libhousekeeper.so \
	/usr/lib/"$MA"/pkgconfig/housekeeper.pc /usr/include/housekeeper.h \
	/usr/share/doc/housekeeper/copyright \
	/usr/lib/python3/dist-packages/housekeeper/__init__.py \
	/usr/lib/python3/dist-packages/housekeeper/client.py \
	/usr/lib/python3/dist-packages/housekeeper/aio.py; do
	[ -e "$f" ] || fail "$f missing after install"
done
[ "$(dpkg -S /usr/lib/"$MA"/libhousekeeper.so.0 | cut -d: -f1)" = libhousekeeper0 ] ||
	fail "libhousekeeper.so.0 not in libhousekeeper0"
[ "$(dpkg -S /usr/include/housekeeper.h | cut -d: -f1)" = libhousekeeper-dev ] ||
	fail "housekeeper.h not in libhousekeeper-dev"
[ "$(dpkg -S /usr/lib/python3/dist-packages/housekeeper/client.py | cut -d: -f1)" = python3-housekeeper ] ||
	fail "the Python client is not in python3-housekeeper"
# Debian's python3 (the one of python3:any, not a pyenv's first in PATH)
# imports the packaged module from dist-packages
(cd / && /usr/bin/python3 -c 'import housekeeper, sys; sys.exit(not housekeeper.__file__.startswith("/usr/lib/python3/dist-packages/"))') ||
	fail "/usr/bin/python3 does not import the packaged housekeeper module"
dpkg-query -W -f='${Conffiles}\n' housekeeper | grep -q '^ /etc/housekeeper/housekeeper.conf ' ||
	fail "/etc/housekeeper/housekeeper.conf is not a conffile"
dpkg-query -W -f='${Conffiles}\n' housekeeper | grep -q '^ /etc/default/housekeeper ' ||
	fail "/etc/default/housekeeper is not a conffile"
(. /etc/default/housekeeper && [ -z "$DAEMON_OPTS" ] && [ -z "$CTL_OPTS" ]) ||
	fail "/etc/default/housekeeper does not set the script's options"
grep -q 'WatchdogSec=' /lib/systemd/system/housekeeper.service || fail "the unit sets no WatchdogSec="
[ -e /etc/systemd/system/multi-user.target.wants/housekeeper.service ] ||
	fail "housekeeper.service not enabled (no multi-user.target.wants link)"
ls /etc/rc2.d/S*housekeeper >/dev/null 2>&1 || fail "init script not enabled in runlevel 2"
# the unit carries the installed paths, not @placeholders@
grep -q '^ExecStart=/usr/sbin/housekeeperd -f$' /lib/systemd/system/housekeeper.service ||
	fail "unit ExecStart: $(grep ExecStart /lib/systemd/system/housekeeper.service)"
grep -q '@[a-z_]*@' /lib/systemd/system/housekeeper.service && fail "unsubstituted placeholders in the unit"
# the CLI uses the packaged library
ldd /usr/bin/housekeeperctl | grep -Eq "=> (/usr)?/lib/$MA/libhousekeeper.so.0 " ||
	fail "housekeeperctl does not load the packaged libhousekeeper.so.0: $(ldd /usr/bin/housekeeperctl)"
[ "$(pkg-config --modversion housekeeper)" = "${version%-*}" ] ||
	fail "pkg-config housekeeper: $(pkg-config --modversion housekeeper 2>&1)"
/usr/sbin/housekeeperd -V 2>&1 | grep -qxF "housekeeperd ${version%-*}" ||
	fail "housekeeperd -V: $(/usr/sbin/housekeeperd -V 2>&1)"

# the -dev package builds a client: the example program of the library
if command -v cc >/dev/null 2>&1; then
	# shellcheck disable=SC2046 # pkg-config prints a list of words
	cc -o "$T/register-logs" "$top_srcdir/contrib/examples/register-logs.c" \
		$(pkg-config --cflags --libs housekeeper) >"$T/cc.log" 2>&1 ||
		fail "example does not build against libhousekeeper-dev: $(cat "$T/cc.log")"
fi

# --- the packaged configuration is valid -----------------------------------
/usr/sbin/housekeeperd -t >"$T/check" 2>&1 || fail "housekeeperd -t (packaged config): $(cat "$T/check")"
/usr/sbin/housekeeperd -t -c /etc/housekeeper/housekeeper.conf >"$T/check" 2>&1 ||
	fail "housekeeperd -t -c /etc/housekeeper/housekeeper.conf: $(cat "$T/check")"

# --- the installed daemon, on a private config and state dir ----------------
HKD=/usr/sbin/housekeeperd
HKCTL=/usr/bin/housekeeperctl
S="$T/hk.sock"
D="$T/data"
mkdir -p "$D"
write_config <<EOF
[daemon]
control_socket = $S

[cleanup "pkg-test"]
directory = $D
pattern = *.log
max_files = 3
EOF
start_daemon
wait_until test -S "$S" || fail "control socket $S not created"
"$HKCTL" -s "$S" list >"$T/list" 2>&1 || fail "housekeeperctl list failed: $(cat "$T/list")"
grep -q pkg-test "$T/list" || fail "registration not listed: $(cat "$T/list")"
# and it enforces the limit
mkfiles "$D" f 6
wait_until count_is "$D" 3 || fail "max_files = 3 not enforced: $(names "$D")"
if [ -x "$T/register-logs" ]; then
	mkdir -p "$T/traces"
	HOUSEKEEPER_SOCKET="$S" "$T/register-logs" "$T/traces" >"$T/ex.out" 2>&1 ||
		fail "example built against the package failed: $(cat "$T/ex.out")"
fi
# the packaged Python client registers, lists and removes through the socket
mkdir -p "$T/pylogs"
(cd / && HOUSEKEEPER_SOCKET="$S" /usr/bin/python3 - "$T/pylogs" <<'EOP'
import sys, housekeeper
with housekeeper.Client() as hk:
    rid = hk.register_cleanup(sys.argv[1], pattern="*.log", retention_days=7)
    assert rid in [c["id"] for c in hk.get_cleanup_configs()], "not listed"
    assert hk.register_cleanup(sys.argv[1], pattern="*.log", retention_days=7) == rid
    hk.remove_cleanup_config(rid)
EOP
) >"$T/py.out" 2>&1 || fail "the packaged Python client failed: $(cat "$T/py.out")"
stop_daemon || fail "daemon exited non-zero on SIGTERM"
[ ! -e /var/lib/housekeeper ] || fail "the test daemon touched /var/lib/housekeeper"

# --- remove, then purge: nothing left -------------------------------------
dpkg -r $PKGS >"$T/remove.log" 2>&1 || fail "dpkg -r failed: $(cat "$T/remove.log")"
[ ! -e /usr/sbin/housekeeperd ] || fail "housekeeperd left after dpkg -r"
[ -e /etc/housekeeper/housekeeper.conf ] || fail "conffile removed by dpkg -r (only purge removes it)"
dpkg -P $PKGS >"$T/purge.log" 2>&1 || fail "dpkg -P failed: $(cat "$T/purge.log")"
INSTALLED=
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
	case $st in "" | "un "*) ;; *) fail "$p still known to dpkg after purge ($st)" ;; esac
done
for f in /etc/housekeeper /var/lib/housekeeper /etc/init.d/housekeeper /etc/default/housekeeper \
	/lib/systemd/system/housekeeper.service /usr/sbin/housekeeperd /usr/bin/housekeeperctl \
	/usr/lib/"$MA"/libhousekeeper.so.0 /usr/include/housekeeper.h \
	/usr/lib/python3/dist-packages/housekeeper \
	/etc/systemd/system/multi-user.target.wants/housekeeper.service; do
	[ -e "$f" ] || [ -L "$f" ] && fail "$f left after purge"
done
ls /etc/rc?.d/*housekeeper >/dev/null 2>&1 && fail "rc.d links left after purge: $(ls /etc/rc?.d/*housekeeper)"
# dependencies apt-get install -f added
dpkg-query -W -f='${db:Status-Abbrev} ${binary:Package}\n' | awk '$1 == "ii" { print $2 }' |
	sort >"$T/pkgs.after"
added=$(comm -13 "$T/pkgs.before" "$T/pkgs.after")
if [ -n "$added" ]; then
	apt-get purge -y -qq $added >/dev/null 2>&1 || fail "could not purge added dependencies: $added"
fi
exit 0
