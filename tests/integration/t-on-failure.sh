#!/bin/sh
# on_failure runs (no shell) when a deletion fails - an immutable file - with
# the registration id and name, job id, class and message in its
# environment; the failure's log line names the registration by its name;
# it never runs on success.
. "$(dirname "$0")/lib.sh"
need_root
command -v chattr >/dev/null 2>&1 || skip "needs chattr"
D="$T/logs"
G="$T/good"
mkdir -p "$D" "$G"
mkfiles "$D" f 4
mkfiles "$G" g 4
chattr +i "$D/f001.log" 2>/dev/null || skip "chattr +i not supported here"
HK_EXTRA_CLEANUP="chattr -i '$D/f001.log'"
cat >"$T/hook.sh" <<'EOH'
#!/bin/sh
env | grep '^HK_' | sort >>"$HOOK_OUT"
echo --- >>"$HOOK_OUT"
EOH
chmod +x "$T/hook.sh"
export HOOK_OUT="$T/hook.out"
# success first: the good registration alone
write_config <<EOC
[daemon]
on_failure = $T/hook.sh

[cleanup "good"]
directory = $G
max_files = 1
EOC
start_daemon
wait_until count_is "$G" 1 || fail "good registration not enforced"
sleep 1
[ ! -e "$HOOK_OUT" ] || fail "on_failure ran on success: $(cat "$HOOK_OUT")"
cat >>"$T/hk.conf" <<EOC

[cleanup "immutable"]
directory = $D
max_files = 1
EOC
kill -HUP "$HK_PID"
wait_until grep -q '^HK_FAILURE_CLASS=delete$' "$HOOK_OUT" || fail "on_failure did not run for the failed unlink"
ID=$("$HKCTL" -s "$T/state/housekeeper.sock" --json list | jq -r '.[] | select(.name == "immutable") | .id')
grep -q "^HK_REGISTRATION_ID=$ID\$" "$HOOK_OUT" || fail "registration id missing: $(cat "$HOOK_OUT")"
grep -q '^HK_REGISTRATION_NAME=immutable$' "$HOOK_OUT" || fail "registration name missing: $(cat "$HOOK_OUT")"
grep -q 'delete failure in immutable: ' "$HK_LOG" || fail "the failure line does not name the registration: $(grep failure "$HK_LOG")"
grep -q "failure in $ID" "$HK_LOG" && fail "the failure line names the registration by its id"
grep -q '^HK_ERROR_MESSAGE=.*f001.log.*' "$HOOK_OUT" || fail "message missing: $(cat "$HOOK_OUT")"
grep -q '^HK_JOB_ID=' "$HOOK_OUT" || fail "job id missing"
[ -e "$D/f001.log" ] || fail "immutable file gone?"
"$HKCTL" -s "$T/state/housekeeper.sock" metrics | grep -q 'housekeeper_delete_errors_total{registration="immutable"} [1-9]' ||
	fail "delete error not counted"
exit 0
