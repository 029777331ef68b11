#!/bin/sh
# A deletion that fails (an immutable file) makes `housekeeperctl run` exit
# 1, like `housekeeperd --once` on the same setup; the report says why.
. "$(dirname "$0")/lib.sh"
need_root
command -v chattr >/dev/null 2>&1 || skip "needs chattr"
D="$T/logs"
S="$T/ctl.sock"
mkdir -p "$D"
mkfiles "$D" f 4
chattr +i "$D/f001.log" 2>/dev/null || skip "chattr +i not supported here"
HK_EXTRA_CLEANUP="chattr -i '$D/f001.log'"
write_config <<EOC
[daemon]
control_socket = $S

[cleanup "immutable"]
directory = $D
max_files = 1
EOC
start_daemon
wait_until test -S "$S" || fail "no control socket"
rc=0
"$HKCTL" -s "$S" run >"$T/run.out" 2>"$T/run.err" || rc=$?
[ "$rc" = 1 ] || fail "run with a failed deletion: exit $rc, expected 1: $(cat "$T/run.out" "$T/run.err")"
grep -q 'f001.log' "$T/run.out" || fail "the report does not name the immutable file: $(cat "$T/run.out")"
grep -q 'run_cleanup\|hk_run_cleanup' "$T/run.err" && fail "an internal op name in the message: $(cat "$T/run.err")"
rc=0
"$HKCTL" -s "$S" --json run >"$T/run.json" 2>/dev/null || rc=$?
[ "$rc" = 1 ] || fail "run --json with a failed deletion: exit $rc, expected 1"
jq -e . "$T/run.json" >/dev/null || fail "run --json: not JSON: $(cat "$T/run.json")"
stop_daemon || true
rc=0
"$HKD" --once -c "$T/hk.conf" -S "$T/state-once" >"$T/once.out" 2>"$T/once.err" || rc=$?
[ "$rc" = 1 ] || fail "--once with a failed deletion: exit $rc, expected 1: $(cat "$T/once.out")"
[ -e "$D/f001.log" ] || fail "immutable file gone?"
exit 0
