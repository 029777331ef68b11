#!/bin/sh
# On a terminal, `housekeeperd --once` and `housekeeperctl run` show
# progress on stderr (registrations done/total, files examined, deleted,
# rate), erased before the report; none when stderr is not a terminal or
# with --json. The terminal is script(1)'s.
. "$(dirname "$0")/lib.sh"
command -v script >/dev/null 2>&1 || skip "needs script(1)"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
D="$T/logs"
S="$T/ctl.sock"
mkdir -p "$D"
python3 -c "
import sys
for i in range(20000):
    open('%s/f%05d.log' % (sys.argv[1], i), 'w').close()
" "$D"
write_config <<EOC
[daemon]
control_socket = $S

[cleanup "logs"]
directory = $D
max_files = 100000
EOC
# on a terminal (script's pty: stdout and stderr both land in its typescript)
# that knows escape sequences: the redrawn line needs one
TERM=xterm
export TERM
script -qec "'$HKD' --once --dry-run -c '$T/hk.conf' -S '$T/state'" "$T/once.tty" >/dev/null ||
	fail "--once --dry-run on a terminal failed: $(cat "$T/once.tty")"
grep -q 'job [0-9]*: [01]/1 registrations, [0-9]* files examined, [0-9]* would be deleted' "$T/once.tty" ||
	fail "--once on a terminal shows no progress: $(head -c 600 "$T/once.tty")"
# erased (carriage return, clear line) before the report
grep -a -q "$(printf '\r\033\\[K')total: 0 files" "$T/once.tty" ||
	fail "--once: progress line not erased before the report: $(tail -c 300 "$T/once.tty" | od -c | tail -5)"
# a dumb terminal cannot redraw a line: the report alone
TERM=dumb script -qec "'$HKD' --once --dry-run -c '$T/hk.conf' -S '$T/state'" "$T/once-dumb.tty" >/dev/null ||
	fail "--once on a dumb terminal failed"
grep -q 'files examined' "$T/once-dumb.tty" && fail "--once: progress on a dumb terminal"
grep -q 'total: 0 files' "$T/once-dumb.tty" || fail "--once on a dumb terminal: no report"
# not a terminal: no progress
"$HKD" --once --dry-run -c "$T/hk.conf" -S "$T/state" >"$T/once.out" 2>"$T/once.err" ||
	fail "--once --dry-run failed: $(cat "$T/once.err")"
grep -q 'files examined' "$T/once.err" "$T/once.out" && fail "progress without a terminal"
start_daemon
wait_until test -S "$S" || fail "no control socket"
if ! "$HKCTL" -s "$S" run --dry-run --no-wait >/dev/null 2>&1; then
	# the daemon has no job protocol yet (run_cleanup no_wait, wait_job):
	# housekeeperctl falls back to the plain call, without progress
	script -qec "'$HKCTL' -s '$S' run --dry-run" "$T/run.tty" >/dev/null || fail "run on a terminal"
	grep -q '^total: ' "$T/run.tty" || fail "run on a terminal: no report: $(cat "$T/run.tty")"
	echo "note: daemon without the job protocol: run's progress not checked" >&2
	exit 0
fi
script -qec "'$HKCTL' -s '$S' run --dry-run" "$T/run.tty" >/dev/null || fail "run on a terminal: $(cat "$T/run.tty")"
grep -q 'job [0-9]*: [01]/1 registrations, [0-9]* files examined' "$T/run.tty" ||
	fail "run on a terminal shows no progress: $(head -c 600 "$T/run.tty")"
grep -q 'total: 0 files' "$T/run.tty" || fail "run on a terminal: no report"
script -qec "'$HKCTL' -s '$S' --json run --dry-run" "$T/json.tty" >/dev/null || fail "run --json on a terminal"
grep -q 'files examined' "$T/json.tty" && fail "progress with --json"
# a dumb terminal cannot redraw a line: the report alone
TERM=dumb script -qec "'$HKCTL' -s '$S' run --dry-run" "$T/dumb.tty" >/dev/null ||
	fail "run on a dumb terminal"
grep -q 'files examined' "$T/dumb.tty" && fail "progress on a dumb terminal"
grep -q 'total: 0 files' "$T/dumb.tty" || fail "run on a dumb terminal: no report"
"$HKCTL" -s "$S" run --dry-run >"$T/run.out" 2>"$T/run.err" || fail "run"
grep -q 'files examined' "$T/run.err" && fail "progress without a terminal"
exit 0
