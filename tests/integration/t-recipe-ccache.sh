#!/bin/sh
# The ccache recipe (contrib/examples/ccache.conf) on a real daemon keeps a
# ccache cache's bookkeeping - CACHEDIR.TAG, ccache.conf, the stats files,
# temp files of compiles in flight, lock and inode-cache files - even
# when they are the oldest files in the tree, and deletes results by age
# and then the least recently used (oldest mtime) ones down to max_size.
# The same tree under a naive recursive registration (pattern *) loses the
# bookkeeping first: the control that the recipe's excludes do the work.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
C="$T/ccache"
# make_cache: ccache 4's layout; bookkeeping 90 days old, two results 70
# days old (past the recipe's 60d), twenty of the last hours (100 KiB each)
make_cache() {
	rm -rf "$C"
	python3 - "$C" <<'EOP'
import os, sys, time
c = sys.argv[1]
now = time.time()
def put(rel, data, age):
    p = os.path.join(c, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data)
    os.utime(p, (now - age, now - age))
day = 86400
put("CACHEDIR.TAG", b"Signature: 8a477f597d28d172789f06886806bc55\n"
    b"# This file is a cache directory tag created by ccache.\n", 90 * day)
put("ccache.conf", b"max_size = 0\n", 90 * day)
for l1 in "0af":
    put(l1 + "/stats", b"0 0 0 0\n", 90 * day)
    put(l1 + "/CACHEDIR.TAG", b"Signature: 8a477f597d28d172789f06886806bc55\n# ccache\n", 90 * day)
    put(l1 + "/1/stats", b"0 0 0 0\n", 90 * day)
put("a/1/0123456789abcdefR.tmp.Ab12Cd", b"t" * 4096, 90 * day)     # a compile in flight
put("tmp/cpp_stdout.tmp.Zx98Yw.i", b"t" * 4096, 90 * day)
put("tmp/inode-cache-64.v2", b"i" * 4096, 90 * day)
put("a/1/stats.alive", b"", 90 * day)
for i in range(2):
    put("f/1/old%02dR" % i, b"r" * 102400, 70 * day)
for i in range(20):
    put("%s/1/res%02dR" % ("0af"[i % 3], i), b"r" * 102400, 3600 * (20 - i))
EOP
	ln -s "host:1234:5678" "$C/a/1/stats.lock"
}
bookkeeping() {
	(cd "$C" && find . \( -type f -o -type l \) ! -name '*R' | LC_ALL=C sort)
}
results() {
	(cd "$C" && find . -type f -name '*R' -printf '%f\n' | LC_ALL=C sort)
}
make_cache
bookkeeping >"$T/keep"
[ "$(wc -l <"$T/keep")" = 16 ] || fail "fixture: $(cat "$T/keep")"
sed -e "s|^directory .*|directory     = $C|" -e "s|^max_size .*|max_size      = 1000K|" \
	"$top_srcdir/contrib/examples/ccache.conf" >"$T/hk.conf"
grep -q "^directory *= $C\$" "$T/hk.conf" && grep -q '^max_size *= 1000K$' "$T/hk.conf" ||
	fail "recipe not adapted: $(grep -E '^(directory|max_size)' "$T/hk.conf")"
printf '[scheduler]\nhousekeeper_schedule = 0 3 1 1 *\n' >>"$T/hk.conf"
"$HKD" -t -c "$T/hk.conf" >/dev/null 2>"$T/t.err" || fail "-t: $(cat "$T/t.err")"
[ ! -s "$T/t.err" ] || fail "the recipe warns on its own cache: $(cat "$T/t.err")"
start_daemon
# the newest ten results (res10..res19: 1000 KiB) stay
want=$(for i in 10 11 12 13 14 15 16 17 18 19; do echo "res${i}R"; done)
wait_until sh -c '[ "$(cd "$1" && find . -type f -name "*R" | wc -l)" -eq 10 ]' - "$C" ||
	fail "results not trimmed to 10: $(results)"
sleep 1   # nothing more goes
[ "$(results)" = "$want" ] || fail "results kept: $(results | tr '\n' ' ')"
bookkeeping | cmp -s - "$T/keep" || fail "ccache's bookkeeping was touched: $(bookkeeping | diff "$T/keep" -)"
grep -q 'ccache: deleted' "$HK_LOG" || fail "no summary line"
# a new result that pushes the total over: the least recently used goes,
# and a compile's temp file written meanwhile stays
printf '%102400s' x >"$C/0/1/newR.tmp.Qq11Ww"
printf '%102400s' x >"$C/0/1/newR"
wait_until sh -c '! test -e "$1/0/1/res10R"' - "$C" || fail "the oldest result was not deleted"
[ -e "$C/0/1/newR.tmp.Qq11Ww" ] && [ -e "$C/0/1/newR" ] || fail "a new file of a running compile was deleted"
bookkeeping | grep -v newR | cmp -s - "$T/keep" || fail "bookkeeping after events: $(bookkeeping | diff "$T/keep" -)"
stop_daemon || fail "clean stop"

# control: a naive registration of the same tree deletes the bookkeeping
make_cache
printf '[scheduler]\nhousekeeper_schedule = 0 3 1 1 *\n[cleanup "naive"]\ndirectory = %s\nrecursive = yes\nretention = 60d\nmax_size = 1000K\n' "$C" >"$T/hk.conf"
: >"$HK_LOG"
start_daemon
wait_until sh -c '! test -e "$1/a/stats"' - "$C" || fail "control: the naive registration kept the stats"
[ ! -e "$C/CACHEDIR.TAG" ] || fail "control: CACHEDIR.TAG kept by the naive registration"
exit 0
