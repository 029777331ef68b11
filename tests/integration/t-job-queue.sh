#!/bin/sh
# Manual runs wait their turn under max_concurrent_jobs: with 1, a second
# run submitted while the first runs is listed as queued by `jobs`, then
# runs once the first has ended.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
J="$top_srcdir/tests/integration/jobs.py"
mkdir -p "$T/a" "$T/b"
python3 "$J" mkfiles "$T/a" 60000 $((86400 * 5))
python3 "$J" mkfiles "$T/b" 10 $((86400 * 5))
cat >"$T/hk.conf" <<EOC
[scheduler]
housekeeper_dry_run = yes
max_concurrent_jobs = 1

[cleanup "a"]
directory = $T/a
retention = 2d

[cleanup "b"]
directory = $T/b
retention = 2d
EOC
start_daemon
S="$T/state/housekeeper.sock"
wait_until test -S "$S" || fail "no control socket"
HK_WAIT=60 wait_until sh -c "'$HKCTL' -s '$S' --json status | jq -e 'map(.files) | add == 60010' >/dev/null" ||
	fail "first scan not done"
python3 "$J" queue "$S" a b >"$T/q.json" || fail "submit"
first=$(jq '.ids[0]' "$T/q.json")
second=$(jq '.ids[1]' "$T/q.json")
jq .jobs "$T/q.json" >"$T/jobs.json"
jq -e --argjson a "$first" --argjson b "$second" '
	(map(select(.job_id == $b))[0].outcome == "queued") and
	(map(select(.job_id == $b))[0].started == null) and
	(map(select(.job_id == $a))[0].outcome == "running")' "$T/jobs.json" >/dev/null ||
	fail "second job not queued behind the first: $(cat "$T/jobs.json")"
# queued and running jobs come first
jq -e '.[0].outcome == "running" or .[0].outcome == "queued"' "$T/jobs.json" >/dev/null || fail "order: $(cat "$T/jobs.json")"
python3 "$J" wait "$S" "$second" >"$T/w2.json" || fail "wait second"
python3 "$J" wait "$S" "$first" >"$T/w1.json" || fail "wait first"
jq -e '.done and .job.outcome == "ok" and .job.deleted == 10' "$T/w2.json" >/dev/null || fail "second: $(jq -c 'del(.report)' "$T/w2.json")"
jq -e '.done and .job.outcome == "ok" and .job.deleted == 60000' "$T/w1.json" >/dev/null || fail "first: $(jq -c 'del(.report)' "$T/w1.json")"
s2=$(jq .job.started "$T/w2.json")
f1=$(jq .job.finished "$T/w1.json")
[ "$s2" -ge "$f1" ] || fail "second started ($s2) before the first finished ($f1)"
exit 0
