#!/bin/sh
# `housekeeperctl metrics` and [daemon] metrics_textfile: valid Prometheus
# text format, every per-registration series present from the start, and
# counters equal to the files actually deleted.
. "$(dirname "$0")/lib.sh"
D="$T/logs"
E="$T/empty"
mkdir -p "$D" "$E"
mkfiles "$D" f 7
write_config <<EOC
[daemon]
metrics_textfile = $T/housekeeper.prom

[cleanup "logs"]
directory = $D
max_files = 3

[cleanup "empty"]
directory = $E
max_files = 3
EOC
start_daemon
S="$T/state/housekeeper.sock"
wait_until test -S "$S" || fail "no control socket"
wait_until count_is "$D" 3 || fail "limit not enforced"
wait_until grep -q 'housekeeper_files_deleted_total{registration="logs"} 4' "$T/housekeeper.prom" ||
	fail "textfile: $(cat "$T/housekeeper.prom")"
"$HKCTL" -s "$S" metrics >"$T/m" || fail "metrics"
for f in "$T/m" "$T/housekeeper.prom"; do
	python3 "$top_srcdir/tests/integration/check-prometheus.py" "$f" || fail "$f is not valid exposition text"
done
grep -q '^housekeeper_files_deleted_total{registration="logs"} 4$' "$T/m" || fail "deleted counter: $(grep deleted_total "$T/m")"
grep -q '^housekeeper_files_deleted_total{registration="empty"} 0$' "$T/m" || fail "series of an idle registration missing"
grep -q '^housekeeper_directory_files{registration="logs"} 3$' "$T/m" || fail "directory_files"
grep -q '^housekeeper_inotify_overflows_total 0$' "$T/m" || fail "overflow counter"
grep -q '^housekeeper_runs_total{registration="logs"} 0$' "$T/m" || fail "runs before any sweep"
# the loop's busy time per iteration: a histogram that has counted iterations
grep -Eq '^housekeeper_loop_iteration_seconds_count [1-9][0-9]*$' "$T/m" || fail "loop histogram: $(grep loop_iteration "$T/m")"
grep -Eq '^housekeeper_loop_iteration_cpu_seconds_count [1-9][0-9]*$' "$T/m" || fail "loop cpu histogram"
grep -Eq '^housekeeper_loop_iteration_max_seconds [0-9.]+$' "$T/m" || fail "loop max"
# a sweep counts as a run, and a clean one as the last success
"$HKCTL" -s "$S" run logs >/dev/null || fail "run"
"$HKCTL" -s "$S" metrics >"$T/m2" || fail "metrics after the run"
grep -q '^housekeeper_runs_total{registration="logs"} 1$' "$T/m2" || fail "runs after a sweep: $(grep runs_total "$T/m2")"
grep -q '^housekeeper_runs_total{registration="empty"} 0$' "$T/m2" || fail "runs of the other registration"
grep -Eq '^housekeeper_last_success_timestamp_seconds\{registration="logs"\} [1-9][0-9]{9}$' "$T/m2" ||
	fail "last success: $(grep last_success "$T/m2")"
python3 "$top_srcdir/tests/integration/check-prometheus.py" "$T/m2" || fail "metrics after the run are not valid"
exit 0
