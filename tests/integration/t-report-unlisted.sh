#!/bin/sh
# A report lists at most HK_REPORT_MAX_FILES (100,000) files: the text of a
# larger one (housekeeperd --once --dry-run) says how many it left unlisted
# (a dry --once is a preview that writes no JSON report to point to).
# (housekeeperctl's text of the same note is tested in
# tests/unit/test_cli.c, and the report's path in the run reply in
# t-waiting-dir.sh: a daemon's run over 100k files doubles this test's time.)
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
D="$T/big"
mkdir -p "$D"
python3 -c "
import sys
for i in range(100005):
    open('%s/f%06d.log' % (sys.argv[1], i), 'w').close()
" "$D"
write_config <<EOC
[cleanup "big"]
directory = $D
max_files = 1
EOC
rc=0
"$HKD" --once --dry-run -c "$T/hk.conf" -S "$T/state" >"$T/once.out" 2>"$T/once.err" || rc=$?
[ "$rc" = 0 ] || fail "--once --dry-run: exit $rc: $(tail -3 "$T/once.err")"
note=$(grep 'more files not listed' "$T/once.out") || fail "--once: no note on unlisted files: $(tail -2 "$T/once.out")"
[ "$note" = '(4 more files not listed: the report lists the first 100000)' ] ||
	fail "--once note: $note"
[ ! -e "$T/state" ] || fail "the dry --once wrote into $T/state: $(find "$T/state")"
grep -q '^total: 100004 files' "$T/once.out" || fail "--once totals: $(tail -1 "$T/once.out")"
exit 0
