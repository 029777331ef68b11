#!/bin/sh
# run_cleanup with no_wait answers at once with the job id; wait_job for
# it answers when the job ends, done, with its outcome, record and report;
# a wait with a short timeout answers with the progress so far. A non-root
# caller may not wait for root's job.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
J="$top_srcdir/tests/integration/jobs.py"
D="$T/data"
mkdir -p "$D"
python3 "$J" mkfiles "$D" 30000 $((86400 * 5))
cat >"$T/hk.conf" <<EOC
[scheduler]
housekeeper_dry_run = yes

[cleanup "big"]
directory = $D
retention = 2d
EOC
start_daemon
S="$T/state/housekeeper.sock"
wait_until test -S "$S" || fail "no control socket"
HK_WAIT=60 wait_until sh -c "'$HKCTL' -s '$S' --json status | jq -e '.[0].files == 30000' >/dev/null" ||
	fail "first scan not done"
python3 "$J" nowait "$S" >"$T/nw.json" || fail "no_wait run or its waits failed"
id=$(jq .id "$T/nw.json")
[ "$id" -ge 1 ] || fail "no job id: $(cat "$T/nw.json")"
jq -e '.submit_seconds < 2' "$T/nw.json" >/dev/null || fail "no_wait took $(jq .submit_seconds "$T/nw.json") s"
# the wait of 0 s: the job is not over yet, its record says how far it is
jq '.w0' "$T/nw.json" >"$T/w0.json"
jq -e --argjson id "$id" '.job_id == $id and .job.job_id == $id and .done == false and (.job.outcome == "running" or .job.outcome == "queued") and (.job | has("registrations_total") and has("registrations_done") and has("scanned") and has("not_run"))' "$T/w0.json" >/dev/null ||
	fail "bad progress answer: $(cat "$T/w0.json")"
jq '.w' "$T/nw.json" >"$T/w.json"
jq -e --argjson id "$id" '.done == true and .job_id == $id and .job.outcome == "ok" and .job.registrations_total == 1 and .job.registrations_done == 1 and .job.deleted == 30000 and .report.job_id == $id and .report.outcome == "ok" and (.report.files | length) == 30000' "$T/w.json" >/dev/null ||
	fail "bad wait answer: $(jq -c 'del(.report.files)' "$T/w.json")"
# an ended job answers at once, done
python3 "$J" wait "$S" "$id" >"$T/w2.json" || fail "second wait failed"
jq -e '.done == true and .job.outcome == "ok"' "$T/w2.json" >/dev/null || fail "bad answer for an ended job: $(cat "$T/w2.json")"
# jobs lists it with its counters
python3 "$J" jobs "$S" >"$T/jobs.json"
jq -e --argjson id "$id" 'map(select(.job_id == $id))[0] | .outcome == "ok" and .trigger == "manual" and .deleted == 30000 and (.queued | type) == "number"' "$T/jobs.json" >/dev/null ||
	fail "jobs: $(cat "$T/jobs.json")"
python3 "$J" call "$S" wait_job '{"job_id": 999999}' | jq -e '.error.name == "HK_ENOTFOUND"' >/dev/null ||
	fail "unknown job not refused"
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null 2>&1; then
	chmod 0777 "$T/state" 2>/dev/null || true
	setpriv --reuid 65534 --regid 65534 --clear-groups python3 "$J" call "$S" wait_job "{\"job_id\": $id}" >"$T/nobody.json" 2>&1 || true
	if jq -e . "$T/nobody.json" >/dev/null 2>&1; then
		jq -e '.error.name == "HK_EDENIED"' "$T/nobody.json" >/dev/null || fail "another uid waited for root's job: $(cat "$T/nobody.json")"
	fi
fi
exit 0
