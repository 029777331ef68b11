#!/bin/sh
# The generated man pages lint clean (mandoc -Tlint, else groff -wall) and
# carry the configured paths, not @placeholders@; the generated systemd unit
# passes systemd-analyze verify (skipped when systemd-analyze is missing).
. "$(dirname "$0")/lib.sh"

pages="man/housekeeperd.8 man/housekeeperctl.8 man/housekeeper.conf.5 man/libhousekeeper.3"
unit="$top_builddir/contrib/systemd/housekeeper.service"
have_mandoc=; have_groff=; have_analyze=
command -v mandoc >/dev/null 2>&1 && have_mandoc=1
command -v groff >/dev/null 2>&1 && have_groff=1
command -v systemd-analyze >/dev/null 2>&1 && have_analyze=1
[ -n "$have_mandoc$have_groff" ] || skip "neither mandoc nor groff is installed"

for p in $pages "contrib/systemd/housekeeper.service" "contrib/init.d/housekeeper"; do
	f="$top_builddir/$p"
	[ -s "$f" ] || fail "$p was not generated"
	if grep -n '@[a-zA-Z_]*@' "$f" >"$T/subst"; then
		fail "$p: unsubstituted placeholders: $(cat "$T/subst")"
	fi
done

for p in $pages; do
	f="$top_builddir/$p"
	if [ -n "$have_mandoc" ]; then
		# every message, style included, except those about the
		# machine's manual database (pages not installed, stale db)
		mandoc -Tlint -Wall "$f" >"$T/lint" 2>&1 || true
		grep -v -e 'referenced manual not found' -e 'outdated mandoc.db' \
			"$T/lint" >"$T/lint.left" || true
		[ -s "$T/lint.left" ] && fail "mandoc -Tlint $p: $(cat "$T/lint.left")"
	fi
	if [ -n "$have_groff" ]; then
		groff -wall -mandoc -z "$f" >"$T/groff" 2>&1 || fail "groff $p failed: $(cat "$T/groff")"
		# a long configured prefix (distcheck's) makes paths that
		# cannot be broken or adjusted: layout, not markup
		grep -v -e 'cannot adjust line' -e "can't break line" -e 'cannot break line' \
			"$T/groff" >"$T/groff.left" || true
		[ -s "$T/groff.left" ] && fail "groff -wall $p: $(cat "$T/groff.left")"
	fi
done

# Every daemon option and every CLI command appears in its page.
for opt in c S f t T v h V config state-dir foreground check-config print-config \
	verbose help version once dry-run daemonize pidfile reset-state; do
	case $opt in ?) pat="Fl $opt" ;; *) pat="Fl \\-$opt" ;; esac
	grep -qFw -- "$pat" "$top_builddir/man/housekeeperd.8" ||
		fail "housekeeperd.8 does not document $opt"
done
for cmd in register update remove list run status explain audit jobs reload metrics version; do
	grep -qFw -- ".It Cm $cmd" "$top_builddir/man/housekeeperctl.8" ||
		fail "housekeeperctl.8 does not document $cmd"
done
for key in $(sed -n 's/^;*\([a-z_]*\) *=.*/\1/p' "$top_srcdir/etc/housekeeper.conf" | sort -u); do
	grep -qF -- ".It Cm $key No" "$top_builddir/man/housekeeper.conf.5" ||
		fail "housekeeper.conf.5 does not document $key"
done

# The shipped sample configuration and the page's examples are valid.
"$HKD" -t -c "$top_srcdir/etc/housekeeper.conf" >/dev/null 2>&1 || fail "sample config invalid"

if [ -z "$have_analyze" ]; then
	echo "systemd-analyze not installed: unit not verified" >&2
	exit 0
fi
# verify checks that ExecStart= programs exist: point them at the build,
# and let it find the Documentation= pages in the build tree.
mkdir -p "$T/man/man3" "$T/man/man5" "$T/man/man8" "$T/unit"
for p in $pages; do
	cp "$top_builddir/$p" "$T/man/man${p##*.}/"
done
sed -e "s|^\(Exec[A-Za-z]*=\)[^ ]*/\(housekeeperd\)|\1$top_builddir/\2|" \
	-e "s|^\(Exec[A-Za-z]*=\)[^ ]*/\(housekeeperctl\)|\1$top_builddir/\2|" \
	"$unit" >"$T/unit/housekeeper.service"
if ! MANPATH="$T/man" SYSTEMD_LOG_LEVEL=warning \
	systemd-analyze verify "$T/unit/housekeeper.service" >"$T/verify" 2>&1; then
	fail "systemd-analyze verify: $(cat "$T/verify")"
fi
[ -s "$T/verify" ] && fail "systemd-analyze verify warned: $(cat "$T/verify")"
exit 0
