#!/bin/sh
# DRAFT (needs the daemon to serve the control socket through hk_ctl_create
# with the ops wired to the engine): every housekeeperctl command against a
# running daemon, human and --json output, exit codes, authorization of a
# non-root caller.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
S="$T/run/ctl.sock"
D="$T/logs"
C="$T/cfg-logs"
mkdir -p "$D" "$C"
mkfiles "$D" trace_ 12
mkfiles "$C" app 3
# Starts under housekeeper_dry_run, so the files stay for the dry run to
# list; a reload without it later lets the limits act.
config() {
	cat <<EOC
[scheduler]
housekeeper_dry_run = $1

[daemon]
control_socket = $S

[cleanup "from-config"]
directory = $C
pattern = *.log
max_files = 10
EOC
}
config yes | write_config
start_daemon
wait_until test -S "$S" || fail "control socket $S not created"
[ "$(stat -c %a "$S")" = 660 ] || fail "socket mode $(stat -c %a "$S"), expected 660"
ctl() { "$HKCTL" -s "$S" "$@"; }

# version / list with the config registration
ctl version >/dev/null || fail "version"
ctl --json list >"$T/list" || fail "list"
[ "$(jq length "$T/list")" -eq 1 ] || fail "list: $(cat "$T/list")"
[ "$(jq -r '.[0].source' "$T/list")" = config ] || fail "source of the config registration"
CFG_ID=$(jq -r '.[0].id' "$T/list")
# the socket also comes from -c's [daemon] control_socket
"$HKCTL" -c "$T/hk.conf" list >/dev/null || fail "socket from -c config"
HOUSEKEEPER_SOCKET="$S" "$HKCTL" list >/dev/null || fail "socket from HOUSEKEEPER_SOCKET"

# register: prints the id; idempotent
ID=$(ctl register "$D" --pattern 'trace_*' --retention 7d --max-files 100 --description "trace files") ||
	fail "register"
[ "${#ID}" -eq 36 ] || fail "register printed '$ID'"
ID2=$(ctl register "$D" --pattern 'trace_*' --retention 7d --max-files 100) || fail "register again"
[ "$ID" = "$ID2" ] || fail "register is not idempotent: $ID vs $ID2"
ctl --json list >"$T/list" || fail "list 2"
jq -e --arg id "$ID" '.[] | select(.id == $id) | .retention == 604800 and .max_files == 100
	and .max_size == null and .pattern == "trace_*" and .source == "api"' "$T/list" >/dev/null ||
	fail "registered fields: $(cat "$T/list")"
for k in id directory pattern retention max_files max_size priority description created_at \
	updated_at last_run source; do
	jq -e --arg k "$k" '.[0] | has($k)' "$T/list" >/dev/null || fail "list lacks field $k"
done
ctl list | grep -q "$D" || fail "human list lacks the directory"

# update; errors from the daemon exit 1
ctl update "$ID" --max-files 4 --max-size 1M || fail "update"
ctl --json list | jq -e --arg id "$ID" '.[] | select(.id == $id) | .max_files == 4 and .max_size == 1048576' \
	>/dev/null || fail "update not applied"
rc=0; ctl update "$CFG_ID" --max-files 1 2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] || fail "update of a config registration: exit $rc"
grep -q "hk.conf" "$T/err" || fail "refusal does not name the file: $(cat "$T/err")"
rc=0; ctl update 00000000-0000-0000-0000-000000000000 --max-files 1 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "update of an unknown id: exit $rc"
rc=0; ctl register /etc 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "register /etc: exit $rc"

# run --dry-run: one line per file with its reason, then totals; nothing deleted
before=$(count_entries "$D")
ctl run "$ID" --dry-run >"$T/dry" || fail "run --dry-run"
grep -q '^would-delete ' "$T/dry" || fail "dry run lists no file: $(cat "$T/dry")"
grep -q '^total: ' "$T/dry" || fail "dry run has no totals"
[ "$(count_entries "$D")" -eq "$before" ] || fail "dry run deleted files"
ctl --json run "$ID" --dry-run | jq -e '.dry_run == true and (.files | length) > 0' >/dev/null ||
	fail "run --json"
# housekeeper_dry_run off: the limits act at once; a real run finds the rest
config no >"$T/hk.conf"
ctl reload || fail "reload without dry run"
ctl run "$ID" >/dev/null || fail "run"
wait_until count_is "$D" 4 || fail "run left $(count_entries "$D") files"

# status, explain, audit, jobs, metrics
ctl --json status | jq -e 'type == "array" and length == 2' >/dev/null || fail "status --json"
ctl --json status | jq -e '.[0] | has("files") and has("bytes")' >/dev/null || fail "status fields"
ctl status >"$T/status" || fail "status"
grep -q "^housekeeperd .*, up .*, config $T/hk.conf" "$T/status" || fail "status lacks the daemon line: $(head -2 "$T/status")"
ctl --json version | jq -e '.uptime >= 0 and (.config_files | length) == 1 and .store_healthy == true' >/dev/null ||
	fail "version --json lacks the daemon facts"
ctl --json explain "$D/trace_012.log" | jq -e '.registrations | length >= 1' >/dev/null ||
	fail "explain"
ctl explain "$D/trace_012.log" >/dev/null || fail "explain human"
ctl --json audit --all --id "$ID" | jq -e 'length >= 8 and (.[0] | has("time") and has("registration_id")
	and has("path") and has("size") and has("mtime") and has("reason") and has("dry_run")
	and has("result"))' >/dev/null || fail "audit: $(ctl --json audit --all --id "$ID")"
ctl --json audit --all --since 1h | jq -e 'length >= 8' >/dev/null || fail "audit --since"
ctl audit >/dev/null || fail "audit human"
ctl --json jobs | jq -e 'type == "array" and length >= 2' >/dev/null || fail "jobs"
ctl jobs >/dev/null || fail "jobs human"
ctl metrics | grep -q '^housekeeper_files_deleted_total' || fail "metrics"

# reload: ok, then a broken config exits 1 and lists the errors
ctl reload || fail "reload"
printf '[cleanup "x"]\nbogus = 1\n' >>"$T/hk.conf"
rc=0; ctl reload 2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] || fail "broken reload: exit $rc"
grep -q "hk.conf:" "$T/err" || fail "reload errors not listed: $(cat "$T/err")"

# a non-root caller: reads yes, changes only its own (needs root to switch)
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 0666 "$S"
	chmod 0755 "$T"
	nob() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$HKCTL" -s "$S" "$@"; }
	nob list >/dev/null || fail "nobody: list"
	rc=0; nob remove "$ID" 2>/dev/null || rc=$?
	[ "$rc" -eq 1 ] || fail "nobody removed root's registration (exit $rc)"
	rc=0; nob register "$C" 2>/dev/null || rc=$?
	[ "$rc" -eq 1 ] || fail "nobody registered root's directory (exit $rc)"
	mkdir "$T/nob"; chown nobody "$T/nob"
	NID=$(nob register "$T/nob" --max-files 1) || fail "nobody: register own directory"
	nob remove "$NID" || fail "nobody: remove own registration"
	rc=0; nob reload 2>/dev/null || rc=$?
	[ "$rc" -eq 1 ] || fail "nobody reloaded (exit $rc)"
fi

# remove
ctl remove "$ID" || fail "remove"
rc=0; ctl remove "$ID" 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "remove twice: exit $rc"

# garbage on the socket does not hurt the daemon
printf '\377\377\377\377garbage' | python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); s.recv(100)
' "$S" 2>/dev/null || true
ctl list >/dev/null || fail "daemon stopped answering after garbage"
kill -0 "$HK_PID" || fail "daemon died"
stop_daemon || fail "SIGTERM: non-zero exit"
[ ! -e "$S" ] || fail "socket left behind"
exit 0
