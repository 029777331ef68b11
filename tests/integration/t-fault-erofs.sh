#!/bin/sh
# Fault injection: the cleaned directory is a read-only bind mount, so every
# unlinkat fails with EROFS. Nothing is deleted, every failure is logged and
# counted (housekeeper_delete_errors_total), the daemon keeps running and
# answering. After `mount -o remount,rw` the next file event restores the
# limit: the directory holds max_files files again, and the audit trail has
# a "deleted" record for exactly the files that are gone.
. "$(dirname "$0")/lib.sh"
need_root
command -v jq >/dev/null 2>&1 || skip "needs jq"
S="$T/state/housekeeper.sock"
ctl() { "$HKCTL" -s "$S" "$@"; }
D="$T/logs"
V="$T/rw-view"     # a second, writable view of the same directory
mkdir -p "$D" "$V"
mkfiles "$D" f 10
mount --bind "$D" "$V" 2>/dev/null || skip "bind mounts not possible here"
HK_EXTRA_CLEANUP="umount '$V' 2>/dev/null || umount -l '$V'"
mount --bind "$D" "$D" 2>/dev/null || skip "bind mounts not possible here"
HK_EXTRA_CLEANUP="umount '$D' 2>/dev/null || umount -l '$D'; $HK_EXTRA_CLEANUP"
mount -o remount,bind,ro "$D" 2>/dev/null || skip "read-only remount of a bind mount not possible here"
if touch "$D/probe" 2>/dev/null; then
	skip "the read-only bind mount is writable"
fi
touch "$V/probe" || fail "the writable view is not writable"
rm -f "$V/probe"
write_config <<EOC
[cleanup "ro"]
directory = $D
pattern = *.log
max_files = 3
EOC
start_daemon
errs() { ctl metrics | sed -n 's/^housekeeper_delete_errors_total{registration="ro"} \([0-9]*\)$/\1/p'; }
errs_ge() { [ "$(errs)" -ge "$1" ]; }
wait_until errs_ge 7 || fail "7 failed deletions expected, housekeeper_delete_errors_total is '$(errs)'"
count_is "$D" 10 || fail "files went from a read-only mount: $(names "$D" | tr '\n' ' ')"
grep -q "f001.log.*cannot delete.*[Rr]ead-only file system" "$HK_LOG" || fail "EROFS not logged"
kill -0 "$HK_PID" || fail "daemon died"
# events keep coming (through the writable view); they fail the same way
for i in 1 2 3; do
	echo new >"$V/n00$i.log"
done
sleep 1
count_is "$D" 13 || fail "files went from a read-only mount: $(names "$D" | tr '\n' ' ')"
ctl status >/dev/null || fail "daemon does not answer"
kill -0 "$HK_PID" || fail "daemon died"
ctl --json audit --all >"$T/audit.json" || fail "audit"
jq -e '[.[] | select(.result == "deleted")] | length == 0' "$T/audit.json" >/dev/null ||
	fail "audit records a deletion on a read-only mount: $(jq -c . "$T/audit.json")"
# recovery: writable again; one more file, and the limit holds again
mount -o remount,bind,rw "$D" || fail "remount rw"
echo last >"$D/n004.log"
wait_until count_is "$D" 3 ||
	fail "limit not restored after the remount rw and a new file: $(count_entries "$D") files left: $(names "$D" | tr '\n' ' ')(the daemon indexes $(ctl --json status | jq '.[0].files') of them)"
[ "$(names "$D" | tr '\n' ' ')" = "n002.log n003.log n004.log " ] ||
	fail "wrong files kept: $(names "$D" | tr '\n' ' ')"
ctl --json audit --all | jq -r '.[] | select(.result == "deleted") | .path' | LC_ALL=C sort >"$T/audited"
{ for i in 01 02 03 04 05 06 07 08 09 10; do echo "$D/f0$i.log"; done; echo "$D/n001.log"; } | LC_ALL=C sort >"$T/gone"
[ "$(cat "$T/audited")" = "$(cat "$T/gone")" ] ||
	fail "audit 'deleted' records: $(tr '\n' ' ' <"$T/audited"); expected: $(tr '\n' ' ' <"$T/gone")"
stop_daemon || fail "daemon did not stop cleanly"
exit 0
