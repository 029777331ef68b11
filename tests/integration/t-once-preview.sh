#!/bin/sh
# The preview of a new drop-in beside a running daemon (issue 18, point 2):
# housekeeperd --once --dry-run -c new.conf on the daemon's state directory
# takes no lock and writes nothing: it lists what the new configuration
# (and the API registrations the store holds) would delete, deletes
# nothing, and leaves the daemon's store, jobs, audit trail, reports and
# lock file as they were. A real --once is still refused while the daemon
# runs. -q: no report on stdout, the exit status tells the result.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"
command -v timeout >/dev/null 2>&1 || skip "needs timeout(1)"
L="$T/live"
P="$T/new"
A="$T/api"
mkdir -p "$L" "$P" "$A" "$T/newconf"
write_config <<EOC
[scheduler]
housekeeper_schedule = 0 3 1 1 *

[cleanup "live"]
directory = $L
pattern = *.log
max_files = 3
EOC
start_daemon
wait_until ctl_up || fail "daemon does not answer"
API=$(ctl register "$A" --max-files 2) || fail "register"
mkfiles "$L" l 5
wait_until count_is "$L" 3 || fail "the daemon does not enforce max_files: $(names "$L")"
mkfiles "$P" p 10
mkfiles "$A" a 2
# the new drop-in: a private main file (only the conf.d beside it is read)
cat >"$T/newconf/new.conf" <<EOC
[scheduler]
housekeeper_schedule = 0 3 1 1 *

[cleanup "new-logs"]
directory = $P
pattern = *.log
max_files = 4
EOC

# what the daemon's state looks like before the preview
state_snapshot() {
	ctl --json jobs | jq -c '[.[] | {id, trigger, outcome}]'
	ctl --json audit --all | jq -c 'length'
	ls -A "$STATE/reports" 2>/dev/null | LC_ALL=C sort
	stat -c '%n %s %Y %i' "$STATE/store.mdb" "$STATE/housekeeper.lock"
	cat "$STATE/housekeeper.lock"
	find "$STATE" -mindepth 1 -printf '%P\n' | LC_ALL=C sort
}
state_snapshot >"$T/state-before" || fail "snapshot"
find "$L" "$P" "$A" -type f -printf '%p %T@\n' | LC_ALL=C sort >"$T/files-before"
sleep 1.1   # an mtime the preview would change is a new second

rc=0
timeout -k 5 60 "$HKD" --once --dry-run -c "$T/newconf/new.conf" -S "$STATE" \
	>"$T/preview.out" 2>"$T/preview.err" </dev/null || rc=$?
[ "$rc" = 0 ] || fail "preview beside the daemon: exit $rc: $(cat "$T/preview.err")"
# it lists what new.conf would delete: p001..p006
awk '$1 == "would-delete" { print $NF }' "$T/preview.out" | LC_ALL=C sort >"$T/listed"
for i in 1 2 3 4 5 6; do
	grep -qx "$P/p00$i.log" "$T/listed" || fail "preview does not list p00$i.log: $(cat "$T/preview.out")"
done
grep -q "$P/p00[7-9].log\|$P/p010.log" "$T/listed" && fail "preview lists a file max_files keeps: $(cat "$T/listed")"
# the daemon's own config registration is not in new.conf: not listed
grep -q "$L/" "$T/listed" && fail "preview lists a file of the running config only: $(cat "$T/listed")"
# the API registration comes from the store, read without the lock
grep -q '^total: 6 files, .* would be deleted (2 registrations' "$T/preview.out" ||
	fail "preview total (new-logs and the API registration): $(grep '^total' "$T/preview.out")"
# nothing deleted, nothing written
find "$L" "$P" "$A" -type f -printf '%p %T@\n' | LC_ALL=C sort >"$T/files-after"
cmp -s "$T/files-before" "$T/files-after" || fail "preview changed files: $(diff "$T/files-before" "$T/files-after")"
state_snapshot >"$T/state-after" || fail "snapshot after"
cmp -s "$T/state-before" "$T/state-after" ||
	fail "preview changed the daemon's state: $(diff "$T/state-before" "$T/state-after")"
kill -0 "$HK_PID" 2>/dev/null || fail "the daemon died"
ctl_up || fail "the daemon stopped answering"

# -q: nothing on stdout, exit 0
rc=0
"$HKD" -q --once --dry-run -c "$T/newconf/new.conf" -S "$STATE" >"$T/q.out" 2>"$T/q.err" || rc=$?
[ "$rc" = 0 ] || fail "-q preview: exit $rc: $(cat "$T/q.err")"
[ ! -s "$T/q.out" ] || fail "-q preview printed: $(cat "$T/q.out")"
[ ! -s "$T/q.err" ] || fail "-q preview logged: $(cat "$T/q.err")"
# -t -q: silent when valid, errors and exit 1 when not
rc=0
"$HKD" -q -t -c "$T/newconf/new.conf" >"$T/tq.out" 2>&1 || rc=$?
[ "$rc" = 0 ] && [ ! -s "$T/tq.out" ] || fail "-t -q on a valid config: exit $rc: $(cat "$T/tq.out")"
printf '[cleanup "bad"]\ndirectory = relative\n' >"$T/bad.conf"
rc=0
"$HKD" -q -t -c "$T/bad.conf" >"$T/bq.out" 2>"$T/bq.err" || rc=$?
[ "$rc" = 1 ] || fail "-t -q on an invalid config: exit $rc"
[ ! -s "$T/bq.out" ] || fail "-t -q printed on stdout: $(cat "$T/bq.out")"
grep -q 'bad.conf:2:' "$T/bq.err" || fail "-t -q hides the error: $(cat "$T/bq.err")"
# a preview on a state directory that has no store yet works from the config alone
"$HKD" -q --once --dry-run -c "$T/newconf/new.conf" -S "$T/nostate" || fail "preview without a store"
[ ! -e "$T/nostate" ] || fail "the preview created $T/nostate"

# a real --once still takes the lock: refused while the daemon runs
rc=0
timeout -k 5 20 "$HKD" --once -c "$T/newconf/new.conf" -S "$STATE" >"$T/real.out" 2>&1 </dev/null || rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -lt 124 ] || fail "a real --once beside the daemon: exit $rc: $(cat "$T/real.out")"
grep -q "in use by another housekeeperd (pid $HK_PID)" "$T/real.out" || fail "real --once: $(cat "$T/real.out")"
[ "$(count_entries "$P")" = 10 ] || fail "the refused --once deleted files: $(names "$P")"
# the preview's listing is what a real run deletes once the daemon is gone
stop_daemon || fail "clean stop"
"$HKD" --once -c "$T/newconf/new.conf" -S "$STATE" >"$T/real2.out" || fail "real --once"
awk '$1 == "deleted" && $NF ~ "^'"$P"'/" { print $NF }' "$T/real2.out" | LC_ALL=C sort >"$T/deleted"
grep "^$P/" "$T/listed" | cmp -s - "$T/deleted" || fail "preview and real run differ: $(grep "^$P/" "$T/listed" | diff - "$T/deleted")"
exit 0
