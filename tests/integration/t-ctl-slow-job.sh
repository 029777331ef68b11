#!/bin/sh
# A daemon that does not answer (SIGSTOP) makes `status` exit 3, but only
# after its answer timeout; a `run` whose job takes long (the daemon stopped
# longer than any old client limit, 30 s, during a dry run) waits and exits
# 0: a slow job is never "unreachable".
. "$(dirname "$0")/lib.sh"
S="$T/ctl.sock"
D="$T/logs"
mkdir -p "$D"
i=0
while [ $i -lt 2000 ]; do : >"$D/f$i.log"; i=$((i + 1)); done
write_config <<EOC
[daemon]
control_socket = $S

[cleanup "logs"]
directory = $D
retention = 30d
EOC
start_daemon
wait_until test -S "$S" || fail "no control socket"
"$HKCTL" -s "$S" status >/dev/null || fail "status while running"
kill -STOP "$HK_PID"
"$HKCTL" -s "$S" run --dry-run >"$T/run.out" 2>"$T/run.err" &
RUN_PID=$!
HK_EXTRA_CLEANUP="kill $RUN_PID 2>/dev/null"
t0=$(date +%s)
rc=0
"$HKCTL" -s "$S" status >/dev/null 2>"$T/status.err" || rc=$?
t1=$(date +%s)
[ "$rc" = 3 ] || fail "status of a stopped daemon: exit $rc, expected 3"
[ $((t1 - t0)) -ge 4 ] || fail "status gave up after $((t1 - t0)) s, before its timeout"
grep -q 'housekeeperctl status: ' "$T/status.err" || fail "message does not name the command: $(cat "$T/status.err")"
# past the old 30 s limit of run
while [ $(($(date +%s) - t0)) -lt 33 ]; do
	kill -0 "$RUN_PID" 2>/dev/null || break
	sleep 1
done
kill -0 "$RUN_PID" 2>/dev/null || { rc=0; wait "$RUN_PID" || rc=$?; fail "run gave up while the job was slow: exit $rc: $(cat "$T/run.err")"; }
kill -CONT "$HK_PID"
rc=0
wait "$RUN_PID" || rc=$?
HK_EXTRA_CLEANUP=
[ "$rc" = 0 ] || fail "slow run: exit $rc, expected 0: $(cat "$T/run.err")"
grep -q '^total: 0 files' "$T/run.out" || fail "slow run report: $(cat "$T/run.out")"
exit 0
