#!/bin/sh
# default_timeout stops a manual run in the middle: the job ends "timeout"
# and its record and report list the registrations it did not sweep to the
# end as not run, while the daemon goes on serving. The first registration
# is big enough that its dry run takes several times the 1 s timeout even
# on a fast machine (60,000 files took about 1 s: the test raced it).
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
J="$top_srcdir/tests/integration/jobs.py"
mkdir -p "$T/a" "$T/b" "$T/c"
python3 "$J" mkfiles "$T/a" 200000 $((86400 * 5))
python3 "$J" mkfiles "$T/b" 10 $((86400 * 5))
python3 "$J" mkfiles "$T/c" 10 $((86400 * 5))
cat >"$T/hk.conf" <<EOC
[scheduler]
housekeeper_dry_run = yes
housekeeper_concurrent_cleanups = 1
default_timeout = 1s

[cleanup "a"]
directory = $T/a
retention = 2d
priority = 1

[cleanup "b"]
directory = $T/b
retention = 2d
priority = 2

[cleanup "c"]
directory = $T/c
retention = 2d
priority = 3
EOC
start_daemon
S="$T/state/housekeeper.sock"
wait_until test -S "$S" || fail "no control socket"
HK_WAIT=60 wait_until sh -c "'$HKCTL' -s '$S' --json status | jq -e 'map(.files) | add == 200020' >/dev/null" ||
	fail "first scan not done"
rc=0
"$HKCTL" -s "$S" --json run --dry-run >"$T/run.json" || rc=$?
jq -e '.outcome == "timeout"' "$T/run.json" >/dev/null || fail "outcome not timeout (exit $rc): $(jq -c 'del(.files)' "$T/run.json")"
ids=$("$HKCTL" -s "$S" --json list | jq -c 'map(.id) | sort')
jq -e --argjson ids "$ids" '(.not_run | sort) == $ids' "$T/run.json" >/dev/null ||
	fail "report's not_run is not every registration: $(jq -c .not_run "$T/run.json"), expected $ids"
job=$(jq .job_id "$T/run.json")
python3 "$J" wait "$S" "$job" >"$T/w.json" || fail "wait"
jq -e --argjson ids "$ids" '.done and .job.outcome == "timeout" and (.job.not_run | sort) == $ids and .job.registrations_total == 3 and .job.registrations_done == 0' "$T/w.json" >/dev/null ||
	fail "job record: $(cat "$T/w.json")"
"$HKCTL" -s "$S" --json status >/dev/null || fail "daemon not serving after the timeout"
exit 0
