#!/bin/sh
# The recipes of contrib/examples/ (issue 18, point 6) are valid drop-ins:
# housekeeperd -t accepts every one of them, without warnings. And -t warns
# (exit 0, the configuration stays valid) when a recursive registration
# whose pattern and excludes would delete a ccache cache's bookkeeping
# covers a directory that looks like one: a CACHEDIR.TAG written by ccache,
# a ccache.conf, or stats files in its level-1 subdirectories; the cache
# at the registered directory or one level down. The ccache recipe's
# excludes silence it; -q silences it too.
. "$(dirname "$0")/lib.sh"
EX="$top_srcdir/contrib/examples"
n=0
for f in "$EX"/*.conf; do
	n=$((n + 1))
	rc=0
	"$HKD" -t -c "$f" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" = 0 ] || fail "$(basename "$f"): -t exit $rc: $(cat "$T/err")"
	grep -q 'configuration is valid' "$T/out" || fail "$(basename "$f"): $(cat "$T/out")"
	[ ! -s "$T/err" ] || fail "$(basename "$f"): -t warns: $(cat "$T/err")"
	# every recipe says what it is for, and registers something
	grep -q '^\[cleanup "' "$f" || fail "$(basename "$f"): no registration"
done
[ "$n" -ge 6 ] || fail "only $n recipes in $EX"
for r in ccache pip-cache npm-cache logrotate python-rotating extracted-archives; do
	[ -f "$EX/$r.conf" ] || fail "recipe $r.conf missing"
done

# a ccache cache as ccache 4 lays it out
C="$T/home/.cache/ccache"
mkdir -p "$C/a/b" "$C/0/1" "$T/plain/x"
printf 'Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by ccache.\n' >"$C/CACHEDIR.TAG"
echo 'max_size = 5G' >"$C/ccache.conf"
echo stats >"$C/a/stats"
echo result >"$C/a/b/0123abcdR"
echo other >"$T/plain/x/file"
# lint CONF: -t on it, must exit 0; its stderr in $T/lint
lint() {
	rc=0
	"$HKD" -t -c "$1" >"$T/lint.out" 2>"$T/lint" || rc=$?
	[ "$rc" = 0 ] || fail "-t exit $rc on $1: $(cat "$T/lint")"
	grep -q 'configuration is valid' "$T/lint.out" || fail "not valid: $(cat "$T/lint.out")"
}
printf '[cleanup "cc"]\ndirectory = %s\nrecursive = yes\nmax_size = 1G\n' "$C" >"$T/naive.conf"
lint "$T/naive.conf"
grep -q "naive.conf:1: warning: \[cleanup \"cc\"\] $C looks like a ccache cache" "$T/lint" ||
	fail "no warning for a recursive * over a ccache cache: $(cat "$T/lint")"
grep -q 'stats, CACHEDIR.TAG, ccache.conf, temp files' "$T/lint" || fail "warning does not say what: $(cat "$T/lint")"
# the parent of the cache (~/.cache registered whole)
printf '[cleanup "home-cache"]\ndirectory = %s\nrecursive = yes\nretention = 30d\n' "$T/home/.cache" >"$T/parent.conf"
lint "$T/parent.conf"
grep -q "warning: .* $C looks like a ccache cache" "$T/lint" || fail "no warning for the cache one level down: $(cat "$T/lint")"
# known by its stats files alone
rm "$C/CACHEDIR.TAG" "$C/ccache.conf"
lint "$T/naive.conf"
grep -q "looks like a ccache cache" "$T/lint" || fail "no warning for a cache known by its stats files"
printf 'Signature: 8a477f597d28d172789f06886806bc55\n# created by ccache.\n' >"$C/CACHEDIR.TAG"
# -q: silent
"$HKD" -q -t -c "$T/naive.conf" >"$T/q" 2>&1 || fail "-q -t exit"
[ ! -s "$T/q" ] || fail "-q -t printed: $(cat "$T/q")"
# the recipe's excludes: no warning
sed "s|^directory .*|directory = $C|" "$EX/ccache.conf" >"$T/recipe.conf"
lint "$T/recipe.conf"
[ ! -s "$T/lint" ] || fail "the ccache recipe warns: $(cat "$T/lint")"
# not recursive, or a pattern that cannot match ccache's files: no warning
printf '[cleanup "cc"]\ndirectory = %s\npattern = *.o\nrecursive = yes\n' "$C" >"$T/objs.conf"
lint "$T/objs.conf"
[ ! -s "$T/lint" ] || fail "warning for a pattern that spares ccache's files: $(cat "$T/lint")"
printf '[cleanup "cc"]\ndirectory = %s\nrecursive = no\nmax_files = 10\n' "$C" >"$T/flat.conf"
lint "$T/flat.conf"
[ ! -s "$T/lint" ] || fail "warning for a non-recursive registration: $(cat "$T/lint")"
# a directory that is no ccache cache, or one that does not exist: no warning
printf '[cleanup "p"]\ndirectory = %s\nrecursive = yes\nretention = 1d\n[cleanup "n"]\ndirectory = %s/nope\nrecursive = yes\nretention = 1d\n' "$T/plain" "$T" >"$T/plain.conf"
lint "$T/plain.conf"
[ ! -s "$T/lint" ] || fail "warning for a plain directory: $(cat "$T/lint")"
# a CACHEDIR.TAG of another program is no ccache cache
rm -r "$C/a" "$C/0"
printf 'Signature: 8a477f597d28d172789f06886806bc55\n# created by cargo.\n' >"$C/CACHEDIR.TAG"
lint "$T/naive.conf"
[ ! -s "$T/lint" ] || fail "warning for another program's CACHEDIR.TAG: $(cat "$T/lint")"
exit 0
