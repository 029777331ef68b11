#!/bin/sh
# A directory removal (unit = directory, remove_empty_dirs) commits its
# audit intent before the rmdir, as a file deletion does (SPEC 8): --once
# killed (SIGKILL) right after the first rmdir of an expired unit
# succeeded leaves the intent, and the next start records that directory
# as deleted (its path with a trailing "/"); no intent stays open.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
command -v cc >/dev/null 2>&1 || skip "needs cc"
if ldd "$HKD" 2>/dev/null | grep -q libasan; then
	skip "ASan build: LD_PRELOAD shims do not mix with ASan"
fi
cc -shared -fPIC -o "$T/rmdir.so" "$top_srcdir/tests/integration/crash-after-rmdir-shim.c" \
	-ldl 2>"$T/cc.err" || skip "cannot build the LD_PRELOAD shim: $(cat "$T/cc.err")"
D="$T/jobs"
mkdir -p "$D/job1/sub/deep"
echo a >"$D/job1/sub/deep/f"
find "$D/job1" -exec touch -h -d "@$(($(date +%s) - 3 * 86400))" {} +
S="$T/ctl.sock"
write_config <<EOC
[cleanup "jobs"]
directory = $D
pattern = job*
unit = directory
retention = 1d

[daemon]
control_socket = $S
EOC
rc=0
LD_PRELOAD="$T/rmdir.so" "$HKD" --once -c "$T/hk.conf" -S "$T/state" >"$T/crash.out" 2>&1 || rc=$?
[ "$rc" = 137 ] || fail "the shim did not kill --once (exit $rc): $(tail -3 "$T/crash.out")"
[ ! -e "$D/job1/sub/deep" ] && [ -d "$D/job1/sub" ] ||
	fail "not killed after the first rmdir: $(find "$D" | sort)"
start_daemon
wait_until test -S "$S" || fail "control socket not created"
wait_until test ! -e "$D/job1" || fail "the rest of the unit not removed: $(find "$D" | sort)"
ctl --json audit --all >"$T/audit.json" || fail "audit"
for p in "$D/job1/sub/deep/" "$D/job1/sub/" "$D/job1/" "$D/job1/sub/deep/f"; do
	jq -e --arg p "$p" '[.[] | select(.path == $p and .result == "deleted")] | length == 1' \
		"$T/audit.json" >/dev/null || fail "not one record of $p: $(cat "$T/audit.json")"
done
jq -e '[.[] | select(.state == "intent")] | length == 0' "$T/audit.json" >/dev/null ||
	fail "an intent is still open: $(cat "$T/audit.json")"
stop_daemon || fail "daemon exit status"
exit 0
