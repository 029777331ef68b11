#!/bin/sh
# Free space by priority in a run of ONE registration (SPEC 5): on a 4 MiB
# tmpfs, "low" (priority 10) and "high" (priority 100) both have min_free
# = 1M and free_target = 2M. A filler outside both takes free space below
# the floor without an event reaching the daemon; a manual run of high
# alone then deletes nothing of high for free space while low still has
# candidates: low is emptied first (the free-space check at the run's
# end, not the periodic one), then high's oldest two go, and free space
# reaches the target. A dry run of high alone reports nothing for free
# space either. The metrics count the deletions for free space per
# registration.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
M="$T/m"
free_tmpfs "$M"
LOW="$M/low" HIGH="$M/high" OTHER="$M/other"
mkdir -p "$LOW" "$HIGH" "$OTHER"
# blobN of 256 KiB, the first the oldest; high's older than low's
blobs "$LOW" 1000
blobs "$HIGH" 2000
S="$T/ctl.sock"
ctl_daemon <<EOC
[scheduler]
housekeeper_schedule = 0 3 1 1 *

[cleanup "high"]
directory = $HIGH
priority = 100
min_free = 1M
free_target = 2M

[cleanup "low"]
directory = $LOW
priority = 10
min_free = 1M
free_target = 2M
EOC
wait_until sh -c "[ \"\$('$HKCTL' -s '$S' --json status | jq '[.[] | select(.files == 4)] | length')\" = 2 ]" ||
	fail "registrations not scanned: $(ctl --json status)"
[ "$(free_kb)" -gt 1024 ] || fail "setup: $(free_kb) KiB free, expected above the floor"

# the filler: about 512 KiB free are left, below the 1 MiB floor
fill=$(( $(free_kb) - 512 ))
head -c $((fill * 1024)) /dev/zero >"$OTHER/fill"
[ "$(free_kb)" -lt 1024 ] || fail "setup: $(free_kb) KiB free after the filler"

# a dry run of high alone: its turn has not come (low has candidates)
ctl --json run high --dry-run >"$T/dry.json" || fail "dry run: $(cat "$T/dry.json")"
[ "$(jq '[.files[]? | select(.reason == "free")] | length' "$T/dry.json")" -eq 0 ] ||
	fail "a dry run of high alone would delete high's files for free space: $(jq -c '.files' "$T/dry.json")"
# the real run of high alone: nothing of high for free space in its report
ctl --json run high >"$T/run.json" || fail "run high: $(cat "$T/run.json")"
[ "$(jq '[.files[]? | select(.reason == "free")] | length' "$T/run.json")" -eq 0 ] ||
	fail "a run of high alone deleted high's files for free space: $(jq -c '.files' "$T/run.json")"
# low goes first, then high's two oldest, without waiting for the 10 s check
HK_WAIT=8 wait_until count_is "$LOW" 0 ||
	fail "low not emptied: low $(names "$LOW" | tr '\n' ' '), high $(names "$HIGH" | tr '\n' ' '), $(free_kb) KiB free"
wait_until count_is "$HIGH" 2 || fail "high: $(names "$HIGH" | tr '\n' ' '), $(free_kb) KiB free"
sleep 0.5
[ "$(names "$HIGH")" = "$(printf 'blob3\nblob4')" ] || fail "high kept: $(names "$HIGH" | tr '\n' ' ')"
[ "$(free_kb)" -ge 2048 ] || fail "free space $(free_kb) KiB below the 2 MiB target"
[ -f "$OTHER/fill" ] || fail "the filler outside the registrations was deleted"
# the audit trail: every deletion of low before the first of high
ctl --json audit >"$T/audit.json" || fail "audit"
jq -r '(if type == "array" then . else .records end) | sort_by(.id) | .[] | select(.state != "intent") | .path' \
	"$T/audit.json" | sed "s|^$M/||" | tr '\n' ' ' >"$T/order"
[ "$(cat "$T/order")" = "low/blob1 low/blob2 low/blob3 low/blob4 high/blob1 high/blob2 " ] ||
	fail "deletion order: $(cat "$T/order")"
# the deletions for free space in the metrics and in status, per registration
ctl metrics >"$T/metrics" || fail "metrics"
grep -qx 'housekeeper_free_space_files_deleted_total{registration="low"} 4' "$T/metrics" &&
	grep -qx 'housekeeper_free_space_files_deleted_total{registration="high"} 2' "$T/metrics" &&
	grep -qx 'housekeeper_free_space_reclaimed_bytes_total{registration="low"} 1048576' "$T/metrics" ||
	fail "free-space metrics: $(grep free_space "$T/metrics")"
ctl --json status | jq -e '.[] | select(.name == "high") | .free_space_reclaimed_files == 2 and
	.free_space_reclaimed_bytes == 524288' >/dev/null || fail "status: $(ctl --json status)"
stop_daemon || fail "daemon exit status"
exit 0
