#!/bin/sh
# min_free / free_target across registrations on one filesystem (SPEC 5):
# on a 4 MiB tmpfs with two registrations, priority 10 and 100, both with
# min_free = 1M and free_target = 3M, the priority-10 one is emptied oldest
# first before the priority-100 one is touched, free space reaches the
# target, files outside both registrations are never deleted, a dry run
# reports what would go and deletes nothing, explain names the files that
# go for free space, and space taken by a write
# outside any registration is noticed by the periodic check (10 s).
. "$(dirname "$0")/lib.sh"
M="$T/m"
free_tmpfs "$M"
LOW="$M/low" HIGH="$M/high" OTHER="$M/other"
mkdir -p "$LOW" "$HIGH" "$OTHER"
now=$(date +%s)
# blobN of 256 KiB, mtimes in the past, the first the oldest
blobs "$LOW" 1000
blobs "$HIGH" 1000
head -c 512000 /dev/zero >"$OTHER/keep1"
touch -d "@$((now - 5000))" "$OTHER/keep1"

write_config <<EOC
[cleanup "high"]
directory = $HIGH
priority = 100
min_free = 1M
free_target = 3M

[cleanup "low"]
directory = $LOW
priority = 10
min_free = 1M
free_target = 3M

[daemon]
control_socket = $T/ctl.sock
EOC
S="$T/ctl.sock"

# 1. a dry run below the floor: low's five files and high's two oldest
#    would go (projected 780K + 1792K + 512K >= 3M), nothing is deleted
head -c 786432 /dev/zero >"$LOW/big"
[ "$(free_kb)" -lt 1024 ] || fail "setup: $(free_kb) KiB free, expected below 1 MiB"
find "$M" -type f -printf '%P %s %T@\n' | sort >"$T/before"
"$HKD" --once --dry-run -c "$T/hk.conf" -S "$T/state" >"$T/dry" 2>>"$HK_LOG" || fail "dry run failed: $(cat "$T/dry")"
find "$M" -type f -printf '%P %s %T@\n' | sort >"$T/after"
cmp -s "$T/before" "$T/after" || fail "the dry run changed the filesystem: $(diff "$T/before" "$T/after")"
grep '^would-delete' "$T/dry" | awk '{print $NF}' | sed "s|^$M/||" | sort >"$T/dry-list"
[ "$(cat "$T/dry-list")" = "$(printf 'high/blob1\nhigh/blob2\nlow/big\nlow/blob1\nlow/blob2\nlow/blob3\nlow/blob4')" ] ||
	fail "dry run would delete: $(cat "$T/dry-list" | tr '\n' ' ') (report: $(cat "$T/dry"))"
grep '^would-delete' "$T/dry" | grep -qv ' free ' && fail "a would-delete without reason free: $(cat "$T/dry")"
# explain, from a daemon in dry-run mode (it deletes nothing): low's files
# and high's two oldest go for free space, high's two newest stay
dry_daemon
wait_until sh -c "[ \"\$('$HKCTL' -s '$S' --json status | jq '[.[] | select(.files >= 4)] | length')\" = 2 ]" ||
	fail "registrations not scanned: $(ctl --json status)"
why() { ctl --json explain "$1" | jq -r '.registrations[0].reason'; }
for f in low/blob1 low/big high/blob1 high/blob2; do
	[ "$(why "$M/$f")" = free ] || fail "explain $f: $(ctl --json explain "$M/$f")"
done
for f in high/blob3 high/blob4; do
	[ "$(why "$M/$f")" = null ] || fail "explain $f: $(ctl --json explain "$M/$f")"
done
stop_daemon || fail "dry-run daemon exit status"
cmp -s "$T/before" "$T/after" && find "$M" -type f -printf '%P %s %T@\n' | sort | cmp -s "$T/before" - ||
	fail "the dry-run daemon changed the filesystem"
rm -f "$LOW/big" "$S"

# 2. the daemon, above the floor: nothing goes
start_daemon
wait_until test -S "$S" || fail "control socket not created"
wait_until sh -c "[ \"\$('$HKCTL' -s '$S' --json status | jq '[.[] | select(.files == 4)] | length')\" = 2 ]" ||
	fail "registrations not scanned: $(ctl --json status)"
count_is "$LOW" 4 && count_is "$HIGH" 4 || fail "deleted above the floor: low $(names "$LOW" | tr '\n' ' ') high $(names "$HIGH" | tr '\n' ' ')"

# 3. a file written into low takes free space below min_free: low is
#    emptied, then high's oldest go until 3 MiB are free
head -c 786432 /dev/zero >"$LOW/big"
wait_until count_is "$LOW" 0 || fail "low not emptied: $(names "$LOW" | tr '\n' ' '), $(free_kb) KiB free"
wait_until count_is "$HIGH" 2 || fail "high: $(names "$HIGH" | tr '\n' ' '), $(free_kb) KiB free"
[ "$(names "$HIGH")" = "$(printf 'blob3\nblob4')" ] || fail "high kept: $(names "$HIGH" | tr '\n' ' ')"
[ "$(free_kb)" -ge 3072 ] || fail "free space $(free_kb) KiB below the 3 MiB target"
[ -f "$OTHER/keep1" ] || fail "a file outside the registrations was deleted"
# the audit trail: every deletion of low before the first of high
ctl --json audit >"$T/audit.json" || fail "audit"
jq -r '(if type == "array" then . else .records end) | sort_by(.id) | .[] | select(.state != "intent") | "\(.path) \(.reason)"' "$T/audit.json" |
	sed "s|^$M/||" >"$T/order" || fail "audit: $(cat "$T/audit.json")"
[ "$(awk '{print $1}' "$T/order" | tr '\n' ' ')" = "low/blob1 low/blob2 low/blob3 low/blob4 low/big high/blob1 high/blob2 " ] ||
	fail "deletion order: $(cat "$T/order" | tr '\n' ' ')"
awk '$2 != "free" { exit 1 }' "$T/order" || fail "reasons: $(cat "$T/order" | tr '\n' ' ')"

# 4. a write outside any registration: no event reaches the daemon, the
#    periodic check notices within 10 s (scaled for a loaded machine)
head -c 2252800 /dev/zero >"$OTHER/fill"
[ "$(free_kb)" -lt 1024 ] || fail "setup: $(free_kb) KiB free after the filler"
t0=$(date +%s)
HK_WAIT=$((10 + HK_WAIT)) wait_until count_is "$HIGH" 0 ||
	fail "the filler was not noticed: high $(names "$HIGH" | tr '\n' ' '), $(free_kb) KiB free"
[ "$(names "$OTHER")" = "$(printf 'fill\nkeep1')" ] || fail "outside files: $(names "$OTHER" | tr '\n' ' ')"
echo "filler noticed after $(($(date +%s) - t0)) s"
# nothing is left to delete: the daemon keeps running, free space stays short
sleep 1
kill -0 "$HK_PID" || fail "daemon died"
grep -q "free space: checked every 10 s" "$HK_LOG" || fail "no periodic check logged"
# without min_free anywhere the periodic check goes away (SPEC 6)
cp "$T/hk.conf" "$T/hk.conf.free"
sed -i '/^min_free\|^free_target/d' "$T/hk.conf"
kill -HUP "$HK_PID"
wait_for_log "the periodic check is stopped" || fail "the periodic check was not stopped by the reload"
stop_daemon || fail "daemon exit status"

# 6. below the floor at start-up: the end of the first scan checks at once,
#    well before the periodic check's 10 s
cp "$T/hk.conf.free" "$T/hk.conf"
head -c 524288 /dev/zero >"$HIGH/late"
[ "$(free_kb)" -lt 1024 ] || fail "setup: $(free_kb) KiB free before the restart"
: >"$HK_LOG"
start_daemon
t0=$(date +%s)
wait_until count_is "$HIGH" 0 || fail "not deleted at start-up: high $(names "$HIGH" | tr '\n' ' ')"
[ $(($(date +%s) - t0)) -lt 9 ] || fail "the start-up check waited for the periodic one ($(($(date +%s) - t0)) s)"
[ "$(names "$OTHER")" = "$(printf 'fill\nkeep1')" ] || fail "outside files: $(names "$OTHER" | tr '\n' ' ')"
stop_daemon || fail "daemon exit status"
exit 0
