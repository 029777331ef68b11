#!/bin/sh
# Fault injection: the state directory (LMDB store, audit trail, socket) is
# a small tmpfs that fills up while the daemon runs. While audit intents
# cannot be committed nothing is deleted (fail closed): an error is logged,
# `housekeeperctl metrics` says housekeeper_audit_writable 0. When space is
# back, the next file event restores the limit, and the audit trail holds a
# "deleted" record for exactly the files that are gone.
# Then the same with a state directory that is read-only: a read-only
# remount is refused while the store is open for writing (EBUSY), so the
# daemon is started on a read-only state directory; it must not delete
# anything, and after a remount rw and a restart it enforces again.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null 2>&1 || skip "needs jq"
STATE="$T/state"
S="$STATE/housekeeper.sock"
ctl() { "$HKCTL" -s "$S" "$@"; }
mkdir -p "$STATE"
mount -t tmpfs -o size=512k,mode=0700 tmpfs "$STATE" 2>/dev/null || skip "cannot mount a tmpfs"
HK_EXTRA_CLEANUP="umount '$STATE' 2>/dev/null || umount -l '$STATE'"
D="$T/logs"
mkdir -p "$D"
MAX=5
write_config <<EOC
[scheduler]
housekeeper_schedule = 0 3 1 1 *

[cleanup "full"]
directory = $D
max_files = $MAX
EOC
start_daemon
wait_until ctl status >/dev/null || fail "daemon does not answer"
# long names: every audit record and index entry takes room
long=$(printf 'x%.0s' $(seq 1 180))
: >"$T/created"
n=0
newfile() {
	n=$((n + 1))
	f="$D/$(printf '%05d' "$n")-$long"
	echo "$n" >"$f"
	echo "$f" >>"$T/created"
}
# some deletions while the store is healthy
for i in $(seq 1 20); do newfile; done
wait_until count_is "$D" $MAX || fail "limit not enforced before the fault"
ctl metrics | grep -qx 'housekeeper_audit_writable 1' || fail "audit_writable is not 1 while healthy"
# fill the state file system
dd if=/dev/zero of="$STATE/filler" bs=4k >/dev/null 2>&1 || :
dd if=/dev/zero of="$STATE/filler2" bs=512 >/dev/null 2>&1 || :
[ "$(df -P "$STATE" | awk 'NR == 2 { print $4 }')" -eq 0 ] || fail "could not fill the tmpfs: $(df -P "$STATE")"
# keep creating files until the store runs out of pages: LMDB reuses freed
# pages first, so some batches may still commit (with their records) and
# the store may flip between failing and working for a while
writable() { ctl metrics | sed -n 's/^housekeeper_audit_writable \([01]\)$/\1/p'; }
k=0
stuck=0
while [ $stuck -lt 5 ] && [ $k -lt 300 ]; do
	k=$((k + 1))
	newfile
	sleep 0.1
	if [ "$(writable)" = 0 ]; then stuck=$((stuck + 1)); else stuck=0; fi
done
[ $stuck -ge 5 ] || fail "the audit trail stayed writable on a full state fs ($k more files)"
grep -q 'cannot record the audit trail' "$HK_LOG" || fail "no error logged about the audit trail"
echo "audit trail failing after $k more files" >&2
kill -0 "$HK_PID" || fail "daemon died on a full state fs"
# nothing may go while the trail cannot be written
names "$D" >"$T/before"
for i in 1 2 3 4 5; do newfile; done
sleep 1
names "$D" >"$T/after"
if [ "$(writable)" = 0 ]; then
	gone=$(LC_ALL=C comm -23 "$T/before" "$T/after" | head -3)
	[ -z "$gone" ] || fail "deleted while the audit trail cannot be written: $gone"
	# status says the registration is paused (issue 18)
	st=$(ctl --json status | jq -r '.[0].state')
	[ "$(writable)" != 0 ] || [ "$st" = paused ] ||
		fail "status does not say paused while the audit trail fails: $st"
fi
[ "$(count_entries "$D")" -gt $MAX ] || fail "the test did not exceed the limit"
# fail closed, from the daemon's own log (one thread, so the order is
# exact): no "deleted" line between "cannot record the audit trail" and
# "deleting resumes"
awk '/cannot record the audit trail/ { closed = 1 }
     /deleting resumes/ { closed = 0 }
     closed && /: deleted \(/ { print; bad = 1 }
     END { exit bad }' "$HK_LOG" >"$T/violations" ||
	fail "deleted while the audit trail could not be written: $(head -3 "$T/violations")"
# space again: the next event restores the limit
rm -f "$STATE/filler" "$STATE/filler2"
newfile
wait_until count_is "$D" $MAX || fail "limit not restored after space came back: $(count_entries "$D") files"
wait_until grep -q 'deleting resumes' "$HK_LOG" || fail "no notice that deleting resumes"
ctl metrics | grep -qx 'housekeeper_audit_writable 1' || fail "audit_writable not back to 1"
kill -0 "$HK_PID" || fail "daemon died"
# the audit trail: one "deleted" record per file gone, nothing else
check_audit() {
	LC_ALL=C sort "$T/created" >"$T/created.s"
	find "$D" -mindepth 1 -maxdepth 1 | LC_ALL=C sort >"$T/present"
	LC_ALL=C comm -23 "$T/created.s" "$T/present" >"$T/deleted"
	ctl --json audit --all >"$T/audit.json" || fail "audit"
	jq -r '.[] | select(.result == "deleted") | .path' "$T/audit.json" | LC_ALL=C sort >"$T/audited"
	[ "$(uniq -d "$T/audited" | wc -l)" -eq 0 ] || fail "duplicate audit records"
	missing=$(LC_ALL=C comm -23 "$T/deleted" "$T/audited" | head -3)
	extra=$(LC_ALL=C comm -13 "$T/deleted" "$T/audited" | head -3)
	[ -z "$missing" ] || fail "$1: deleted without a 'deleted' audit record: $missing"
	[ -z "$extra" ] || fail "$1: 'deleted' records for files still there: $extra"
}
wait_until sh -c '[ "$("$1" -s "$2" --json audit --all | jq "[.[] | select(.result == \"deleted\")] | length")" -eq $(($(wc -l <"$3") - $4)) ]' \
	- "$HKCTL" "$S" "$T/created" "$MAX" || :
check_audit "after the full state fs"
stop_daemon || fail "daemon did not stop cleanly after the full state fs"

# read-only state directory
mount -o remount,ro "$STATE" 2>/dev/null || skip "cannot remount the state tmpfs read-only"
for i in $(seq 1 5); do newfile; done
names "$D" >"$T/before"
"$HKD" -f -v -c "$T/hk.conf" -S "$STATE" >>"$HK_LOG" 2>&1 &
HK_PID=$!
# it either exits with an error or runs without deleting
wait_until sh -c '! kill -0 "$1" || grep -q "started" "$2"' - "$HK_PID" "$HK_LOG" || :
sleep 1
for i in 1 2; do newfile; done
sleep 1
names "$D" >"$T/after"
gone=$(LC_ALL=C comm -23 "$T/before" "$T/after" | head -3)
[ -z "$gone" ] || fail "deleted with a read-only state directory: $gone"
if kill -0 "$HK_PID" 2>/dev/null; then
	echo "note: the daemon runs on a read-only state directory" >&2
	stop_daemon || :
else
	rc=0
	wait "$HK_PID" || rc=$?
	HK_PID=
	[ "$rc" -ne 0 ] || fail "daemon exited 0 on a read-only state directory"
	echo "note: the daemon refused a read-only state directory (exit $rc): $(tail -n 2 "$HK_LOG" | tr '\n' ' ')" >&2
fi
mount -o remount,rw "$STATE" || fail "remount rw"
: >"$HK_LOG.2"; cat "$HK_LOG" >>"$HK_LOG.2"; : >"$HK_LOG"
start_daemon
wait_until count_is "$D" $MAX || fail "limit not restored after the remount rw: $(count_entries "$D") files"
check_audit "after the read-only state dir"
stop_daemon || fail "daemon did not stop cleanly"
exit 0
