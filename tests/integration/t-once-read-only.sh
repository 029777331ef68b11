#!/bin/sh
# `housekeeperd --once` without --dry-run under housekeeper_read_only is
# refused with exit 1 and a message, deleting nothing; with --dry-run it
# still reports what would go.
. "$(dirname "$0")/lib.sh"
D="$T/logs"
mkdir -p "$D"
mkfiles "$D" f 5
write_config <<EOC
[scheduler]
housekeeper_read_only = yes

[cleanup "logs"]
directory = $D
max_files = 2
EOC
rc=0
"$HKD" --once -c "$T/hk.conf" -S "$T/state" >"$T/once.out" 2>"$T/once.err" || rc=$?
[ "$rc" = 1 ] || fail "--once under read-only: exit $rc, expected 1: $(cat "$T/once.out" "$T/once.err")"
grep -q 'read_only' "$T/once.err" || fail "no message naming housekeeper_read_only: $(cat "$T/once.err")"
grep -q 'dry-run' "$T/once.err" || fail "the message does not point to --dry-run: $(cat "$T/once.err")"
count_is "$D" 5 || fail "files deleted under read-only"
rc=0
"$HKD" --once --dry-run -c "$T/hk.conf" -S "$T/state" >"$T/dry.out" 2>"$T/dry.err" || rc=$?
[ "$rc" = 0 ] || fail "--once --dry-run under read-only: exit $rc: $(cat "$T/dry.out" "$T/dry.err")"
grep -q 'total: 3 files, .* would be deleted' "$T/dry.out" || fail "dry run report: $(cat "$T/dry.out")"
count_is "$D" 5 || fail "files deleted by a dry run"
exit 0
