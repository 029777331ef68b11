#!/bin/sh
# A registration whose directory does not exist yet (allowed) is waiting:
# the job is ok, `run` exits 0 and says "waiting", no job failure is
# counted, on_failure does not run, and it is logged once, not per run.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
S="$T/ctl.sock"
G="$T/good"
mkdir -p "$G"
mkfiles "$G" g 3
cat >"$T/hook.sh" <<'EOH'
#!/bin/sh
env | grep '^HK_' | sort >>"$HOOK_OUT"
EOH
chmod +x "$T/hook.sh"
export HOOK_OUT="$T/hook.out"
write_config <<EOC
[daemon]
control_socket = $S
on_failure = $T/hook.sh

[cleanup "good"]
directory = $G
max_files = 10

[cleanup "later"]
directory = $T/not-yet/logs
max_files = 1
EOC
start_daemon
wait_until test -S "$S" || fail "no control socket"
ctl() { "$HKCTL" -s "$S" "$@"; }
for i in 1 2 3; do
	rc=0
	ctl run >"$T/run.out" 2>"$T/run.err" || rc=$?
	[ "$rc" = 0 ] || fail "run $i with a waiting directory: exit $rc: $(cat "$T/run.out" "$T/run.err")"
done
ctl metrics >"$T/metrics" || fail "metrics"
grep -q '^housekeeper_job_failures_total 0$' "$T/metrics" ||
	fail "a waiting directory counted as a job failure: $(grep job_failures "$T/metrics")"
sleep 0.5
[ ! -e "$HOOK_OUT" ] || fail "on_failure ran for a waiting directory: $(cat "$HOOK_OUT")"
grep -q "^waiting .*not-yet/logs" "$T/run.out" || fail "the report does not show it waiting: $(cat "$T/run.out")"
grep -q "^error" "$T/run.out" && fail "a waiting directory reported as an error: $(cat "$T/run.out")"
grep -q " 0 errors" "$T/run.out" || fail "errors counted: $(cat "$T/run.out")"
ctl --json run >"$T/run.json" || fail "run --json"
[ "$(jq -r '.outcome // .job.outcome' "$T/run.json")" = ok ] || fail "job outcome: $(jq -c . "$T/run.json")"
[ "$(jq '[.. | objects | select(.waiting == true)] | length' "$T/run.json")" -ge 1 ] ||
	fail "the JSON report does not say waiting"
f=$(jq -r '.report_file // .report.report_file // empty' "$T/run.json")
[ -n "$f" ] && [ -f "$f" ] || fail "the run reply does not name its JSON report: $(jq -c 'del(.files)' "$T/run.json")"
n=$(grep -c 'not-yet/logs: does not exist' "$HK_LOG" || true)
[ "$n" = 1 ] || fail "the waiting directory logged $n times, expected once"
# once it exists, it is cleaned like any other
mkdir -p "$T/not-yet/logs"
mkfiles "$T/not-yet/logs" l 3
ctl run >"$T/run.out" 2>&1 || fail "run after the directory appeared: $(cat "$T/run.out")"
wait_until count_is "$T/not-yet/logs" 1 || fail "not cleaned once it exists"
exit 0
