#!/bin/sh
# tests/fuzz/run.sh [SECONDS] - build the libFuzzer targets (build.sh) and
# run each for SECONDS (default 60), JOBS targets at a time (default: the
# number of CPUs). Prints the executions per target; exits 1 when any
# target found a crash, leak, timeout or out-of-memory (the inputs are kept
# under $FUZZ_OUT/crashes/<target>/), 77 when clang/libFuzzer is missing.
#
# Every target first runs the whole seed corpus tests/fuzz/corpus/<target>/
# (regression inputs included), then mutates. New inputs go to
# $FUZZ_OUT/corpus/<target>/, never into the source tree, and are reused by
# the next run.
#
# Environment: FUZZ_OUT (default ${TMPDIR:-/tmp}/hk-fuzz), FUZZ_TARGETS
# (default: all, e.g. "config proto"), JOBS, CC, FUZZ_CFLAGS (build.sh).
set -eu

seconds=${1:-60}
case $seconds in '' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2;; esac
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
fuzzdir=$srcdir/tests/fuzz
out=${FUZZ_OUT:-${TMPDIR:-/tmp}/hk-fuzz}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
targets=${FUZZ_TARGETS:-$(cd "$fuzzdir" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')}

mkdir -p "$out"
out=$(cd "$out" && pwd)
r=0
sh "$fuzzdir/build.sh" "$out/build" || r=$?
if [ "$r" -ne 0 ]; then
	[ "$r" -eq 77 ] && echo "run.sh: SKIP: no clang with libFuzzer" >&2
	exit "$r"
fi

export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}

# Longest input worth trying per target (the grammars' values are short).
max_len() {
	case $1 in
	config) echo 16384;;
	proto) echo 8192;;
	*) echo 256;;
	esac
}

start() {
	t=$1
	mkdir -p "$out/corpus/$t" "$out/crashes/$t"
	set -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-max_len="$(max_len "$t")" -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$t/"
	[ -f "$fuzzdir/$t.dict" ] && set -- "$@" -dict="$fuzzdir/$t.dict"
	echo "run.sh: fuzz_$t for ${seconds}s (log: $out/$t.log)"
	(
		rc=0
		"$out/build/fuzz_$t" "$@" "$out/corpus/$t" "$fuzzdir/corpus/$t" \
			>"$out/$t.log" 2>&1 || rc=$?
		echo "$rc" >"$out/$t.rc"
	) &
	eval "pid_$t=$!"
}

# Run JOBS at a time; wait for them in start order.
rm -f "$out"/*.rc
running=
for t in $targets; do
	[ -x "$out/build/fuzz_$t" ] || { echo "run.sh: no target fuzz_$t" >&2; exit 2; }
	set -- $running
	if [ "$#" -ge "$JOBS" ]; then
		eval "wait \$pid_$1" || true
		shift
		running="$* $t"
	else
		running="$running $t"
	fi
	start "$t"
done
wait

status=0
printf '\n%-8s %12s %10s %8s  %s\n' target executions exec/s seconds result
for t in $targets; do
	log=$out/$t.log
	rc=$(cat "$out/$t.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -n 1)
	found=$(ls "$out/crashes/$t" 2>/dev/null | grep -E '^(crash|leak|timeout|oom|slow-unit)-' || true)
	if [ "$rc" -ne 0 ]; then
		result="FAIL (exit $rc)"
		status=1
	elif [ -n "$found" ]; then
		result="ok (old findings kept)"
	else
		result=ok
	fi
	printf '%-8s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${speed:-?}" "${secs:-?}" "$result"
done
for t in $targets; do
	rc=$(cat "$out/$t.rc" 2>/dev/null || echo 1)
	[ "$rc" -eq 0 ] && continue
	echo
	echo "=== fuzz_$t failed: $out/$t.log ==="
	grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written|ERROR: libFuzzer)' \
		"$out/$t.log" | head -n 20 || true
	grep -E '^ +#[0-9]+ ' "$out/$t.log" | head -n 15 || true
	tail -n 3 "$out/$t.log"
	echo "reproduce: $out/build/fuzz_$t <input>; minimize: $out/build/fuzz_$t -minimize_crash=1 -runs=10000 <input>"
done
exit "$status"
