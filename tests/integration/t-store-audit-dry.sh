#!/bin/sh
# The audit trail and dry runs (SPEC 7, 8): while housekeeper_dry_run is on,
# a sweep deletes nothing and leaves one dry_run=true record per file it
# would delete (the event path neither deletes nor records); a manual dry
# run with housekeeper_dry_run off stores nothing but its job record and
# report; real deletions leave dry_run=false "deleted" records; --once under
# housekeeper_dry_run records, --once --dry-run does not.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"
C="$T/cfg"     # config: max_files 3
D="$T/api"     # api: max_files 2
mkdir -p "$C" "$D"
config() {
	cat <<EOC
[scheduler]
housekeeper_schedule = 0 3 1 1 *
housekeeper_dry_run = $1
housekeeper_read_only = $2

[cleanup "cfg"]
directory = $C
pattern = *.log
max_files = 3
EOC
}
snapshot() {
	find "$C" "$D" -type f -printf '%p %s %T@\n' | LC_ALL=C sort
}
# audit_paths JQ-FILTER: sorted paths of the audit records the filter selects
audit_paths() {
	ctl --json audit --all | jq -r ".[] | select($1) | .path" | LC_ALL=C sort
}
expect() {
	printf '%s\n' "$@" | LC_ALL=C sort
}

config yes no | write_config
mkfiles "$C" c 6
mkfiles "$D" d 5
start_daemon
wait_until ctl_up || fail "no answer"
API=$(ctl register "$D" --max-files 2) || fail "register"
CFG=$(ctl --json list | jq -r '.[] | select(.source == "config") | .id')
wait_until st_is "$CFG" state watching || fail "cfg not scanned: $(st_field "$CFG" state)"
wait_until st_is "$API" state watching || fail "api not scanned: $(st_field "$API" state)"
st_is "$CFG" files 6 || fail "cfg: $(st_field "$CFG" files) files"
st_is "$API" files 5 || fail "api: $(st_field "$API" files) files"
snapshot >"$T/snap0"

# 1. housekeeper_dry_run: a (real) run deletes nothing, records 6 dry runs
ctl --json run >"$T/rep1" || fail "run under housekeeper_dry_run"
jq -e '.dry_run == true and (.files | length) == 6' "$T/rep1" >/dev/null ||
	fail "report of the run under housekeeper_dry_run: $(cat "$T/rep1")"
snapshot | cmp -s - "$T/snap0" || fail "housekeeper_dry_run: files changed: $(snapshot | diff "$T/snap0" -)"
ctl --json audit --all >"$T/audit1" || fail "audit"
[ "$(jq length "$T/audit1")" -eq 6 ] || fail "dry-run audit: $(jq length "$T/audit1") records: $(cat "$T/audit1")"
audit_paths '.dry_run == true' >"$T/got"
expect "$C/c001.log" "$C/c002.log" "$C/c003.log" "$D/d001.log" "$D/d002.log" "$D/d003.log" >"$T/exp"
cmp -s "$T/got" "$T/exp" || fail "dry-run audit paths: $(diff "$T/exp" "$T/got")"
jq -e --arg c "$CFG" --arg a "$API" 'all(.[]; .dry_run == true and .result != "deleted" and
	.reason == "count" and (.registration_id == (if (.path | test("/cfg/")) then $c else $a end)))' \
	"$T/audit1" >/dev/null || fail "dry-run audit fields: $(cat "$T/audit1")"
jq -e --arg p "$C/c001.log" '.[] | select(.path == $p) | .size == 7 and .mtime > 0' "$T/audit1" \
	>/dev/null || fail "dry-run audit size/mtime: $(cat "$T/audit1")"
# the event path under housekeeper_dry_run: no deletion, no record
echo new >"$C/c007.log"
wait_until st_is "$CFG" files 7 || fail "event not indexed"
ctl --json audit --all | jq -e 'length == 6' >/dev/null || fail "event path recorded: $(ctl --json audit --all)"
[ "$(count_entries "$C")" -eq 7 ] || fail "event path deleted under housekeeper_dry_run"

# 2. housekeeper_dry_run off (read-only keeps the files): a manual dry run
# stores no audit record, only its job
config no yes >"$T/hk.conf"
ctl reload || fail "reload"
snapshot >"$T/snap1"
ctl --json jobs >"$T/jobs1" || fail "jobs"
ctl --json run --dry-run >"$T/rep2" || fail "run --dry-run"
jq -e '.dry_run == true and (.files | length) == 7' "$T/rep2" >/dev/null ||
	fail "manual dry run report: $(cat "$T/rep2")"
JOB=$(jq -r '.job_id' "$T/rep2")
snapshot | cmp -s - "$T/snap1" || fail "manual dry run changed files"
ctl --json audit --all >"$T/audit2" || fail "audit 2"
cmp -s "$T/audit1" "$T/audit2" ||
	fail "manual dry run with housekeeper_dry_run off stored audit records: $(diff "$T/audit1" "$T/audit2")"
ctl --json jobs >"$T/jobs2" || fail "jobs 2"
[ "$(jq length "$T/jobs2")" -eq $(($(jq length "$T/jobs1") + 1)) ] ||
	fail "jobs: $(jq length "$T/jobs1") before, $(jq length "$T/jobs2") after the dry run"
jq -e --argjson id "$JOB" 'any(.[]; .job_id == $id and .dry_run == true and .trigger == "manual")' \
	"$T/jobs2" >/dev/null || fail "manual dry run job $JOB not in jobs: $(cat "$T/jobs2")"
rc=0; ctl run >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "real run under housekeeper_read_only: exit $rc"

# 3. both off: real deletions, dry_run=false records
config no no >"$T/hk.conf"
ctl reload || fail "reload 2"
ctl run >/dev/null || fail "real run"
wait_until count_is "$C" 3 || fail "cfg: $(names "$C")"
wait_until count_is "$D" 2 || fail "api: $(names "$D")"
audit_paths '.dry_run == false and .result == "deleted"' >"$T/got"
expect "$C/c001.log" "$C/c002.log" "$C/c003.log" "$C/c004.log" \
	"$D/d001.log" "$D/d002.log" "$D/d003.log" >"$T/exp"
cmp -s "$T/got" "$T/exp" || fail "real deletions in the audit: $(diff "$T/exp" "$T/got")"
ctl --json audit --all | jq -e 'length == 13' >/dev/null || fail "audit: $(ctl --json audit --all)"
stop_daemon || fail "clean stop"

# 4. --once: records under housekeeper_dry_run; --once --dry-run does not
rm -f "$C"/* "$D"/*
mkfiles "$C" e 5
mkfiles "$D" f 4
config yes no >"$T/hk.conf"
snapshot >"$T/snap2"
"$HKD" --once -c "$T/hk.conf" -S "$STATE" >"$T/once1" || fail "--once under housekeeper_dry_run"
config no no >"$T/hk.conf"
"$HKD" --once --dry-run -c "$T/hk.conf" -S "$STATE" >"$T/once2" || fail "--once --dry-run"
snapshot | cmp -s - "$T/snap2" || fail "--once dry runs changed files"
config yes no >"$T/hk.conf"
restart_daemon
wait_until ctl_up || fail "restart"
ctl --json audit --all >"$T/audit4" || fail "audit 4"
jq -r '.[] | select(.dry_run == true) | .path' "$T/audit4" | LC_ALL=C sort >"$T/got"
grep -v '/[ef]00[0-9]\.log$' "$T/got" >"$T/got-old" || :
expect "$C/c001.log" "$C/c002.log" "$C/c003.log" "$D/d001.log" "$D/d002.log" "$D/d003.log" >"$T/exp"
cmp -s "$T/got-old" "$T/exp" || fail "earlier dry-run records changed: $(diff "$T/exp" "$T/got-old")"
grep "^$C/e" "$T/got" >"$T/got-cfg" || :
expect "$C/e001.log" "$C/e002.log" >"$T/exp"
cmp -s "$T/got-cfg" "$T/exp" || fail "--once under housekeeper_dry_run, config registration: $(diff "$T/exp" "$T/got-cfg")"
# --once sweeps "every registration" (SPEC 2): the API one from the store too
grep "^$D/f" "$T/got" >"$T/got-api" || :
expect "$D/f001.log" "$D/f002.log" >"$T/exp"
cmp -s "$T/got-api" "$T/exp" || fail "--once under housekeeper_dry_run did not sweep the API registration $API:" \
	"no records for $(cat "$T/exp" | tr '\n' ' ')(report: $(grep -c . "$T/once1") lines, $(grep -c "$D" "$T/once1") about $D)"
[ "$(jq length "$T/audit4")" -eq 17 ] || fail "audit after --once: $(jq length "$T/audit4") records"
stop_daemon || fail "clean stop 2"
exit 0
