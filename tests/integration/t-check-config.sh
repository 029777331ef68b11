#!/bin/sh
# -t accepts the shipped sample config, rejects a broken one with
# file:line errors; -T prints all ten seed settings with their defaults.
. "$(dirname "$0")/lib.sh"

"$HKD" -t -c "$top_srcdir/etc/housekeeper.conf" >"$T/out" 2>&1 || fail "sample config rejected: $(cat "$T/out")"

mkdir -p "$T/logs"
cat >"$T/bad.conf" <<EOC
[scheduler]
max_concurrent_jobs = many
bogus_key = 1

[cleanup "a"]
directory = relative/path
retention = 30
EOC
rc=0
"$HKD" -t -c "$T/bad.conf" >"$T/out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "broken config: exit $rc, expected 1"
grep -q "^$T/bad.conf:2: " "$T/out" || fail "no error for line 2: $(cat "$T/out")"
grep -q "^$T/bad.conf:3: " "$T/out" || fail "no error for line 3: $(cat "$T/out")"
grep -q "^$T/bad.conf:6: " "$T/out" || fail "no error for line 6: $(cat "$T/out")"
grep -q "^$T/bad.conf:7: .*30d" "$T/out" || fail "no unit suggestion for line 7: $(cat "$T/out")"

printf '[cleanup "x"]\ndirectory = %s\n' "$T/logs" >"$T/ok.conf"
"$HKD" -T -c "$T/ok.conf" >"$T/print" || fail "-T failed"
for kv in "job_history_retention_days = 30" "max_concurrent_jobs = 5" \
	"default_timeout = 300" "housekeeper_schedule = 0 3 \* \* \*" \
	"housekeeper_default_retention = 30" "housekeeper_dry_run = false" \
	"housekeeper_read_only = false" "housekeeper_concurrent_cleanups = 3" \
	"housekeeper_report_enabled = true" "housekeeper_report_directory ="; do
	grep -q "^$kv" "$T/print" || fail "-T lacks '$kv': $(cat "$T/print")"
done
grep -q "$T/ok.conf" "$T/print" || fail "-T does not name the source file"

# usage errors exit 2
rc=0
"$HKD" --no-such-option >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "bad option: exit $rc, expected 2"
"$HKD" -V | grep -q '^housekeeperd ' || fail "-V"
exit 0
