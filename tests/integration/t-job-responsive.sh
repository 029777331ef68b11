#!/bin/sh
# A manual dry run over 100,000 files runs in slices from the loop: while
# it is in progress, `housekeeperctl status` answers every time, within a
# few seconds even on a loaded machine or a sanitizer build (it used to run
# in one step on the loop: the daemon answered nobody until the run was
# over, 9 s for these files). The latency itself is measured by
# bench/run.sh control-latency, not here.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
J="$top_srcdir/tests/integration/jobs.py"
D="$T/data"
mkdir -p "$D"
python3 "$J" mkfiles "$D" 100000 $((86400 * 5))
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
ctl() { "$HKCTL" -s "$S" "$@"; }
HK_WAIT=60 wait_until sh -c "'$HKCTL' -s '$S' --json status | jq -e '.[0].state == \"watching\" and .[0].files == 100000' >/dev/null" ||
	fail "first scan not done: $(ctl --json status)"
ctl --json run --dry-run >"$T/run.json" 2>"$T/run.err" &
RUN=$!
python3 "$J" latency "$S" "$HKCTL" 20 >"$T/lat" || fail "latency probe failed"
rc=0
wait "$RUN" || rc=$?
[ "$rc" = 0 ] || fail "run exited $rc: $(cat "$T/run.err")"
read -r _ samples _ running _ max <"$T/lat"
echo "status latency during the run: $(cat "$T/lat")"
[ "$running" -ge 3 ] || fail "saw the run in progress during only $running status calls: $(cat "$T/lat")"
awk -v m="$max" -v w="$HK_WAIT" 'BEGIN { exit !(m < 3.0 * w / 20) }' ||
	fail "status took ${max}s during the run"
n=$(jq '[.files[] | select(.outcome == "would-delete")] | length' "$T/run.json")
[ "$n" = 100000 ] || fail "dry run reported $n files, expected 100000"
[ "$(count_entries "$D")" = 100000 ] || fail "a dry run deleted files"
exit 0
