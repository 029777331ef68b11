#!/bin/sh
# Persistence across a restart (SPEC 8, issue 4): API registrations come
# back with the same id and fields; the stored index is served at once
# (warm start); what changed on disk while the daemon was down (files added,
# grown, removed) is reconciled and the limits are enforced after restart.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"
C="$T/cfg"      # config registration: max_files = 5
D="$T/count"    # api: max_files 8
E="$T/size"     # api: max_size 10K
F="$T/big"      # api: retention only, many files (warm start check)
NBIG=20000
mkdir -p "$C" "$D" "$E" "$F"
write_config <<EOC
[scheduler]
housekeeper_schedule = 0 3 1 1 *

[cleanup "cfg"]
directory = $C
pattern = *.log
max_files = 5
EOC
mkfiles "$C" c 5
mkfiles "$D" d 6
now=$(date +%s)
for i in 1 2 3; do
	head -c 2048 /dev/zero >"$E/e$i.bin"
	touch -d "@$((now - 400 + i * 100))" "$E/e$i.bin"
done
(cd "$F" && seq -f 'f%05g.bin' 1 "$NBIG" | xargs touch)

start_daemon
wait_until ctl_up || fail "control socket does not answer"
A=$(ctl register "$D" --pattern 'd*.log' --max-files 8 --retention 30d --priority 50 \
	--description "api count") || fail "register $D"
B=$(ctl register "$E" --max-size 10K --description "api size") || fail "register $E"
G=$(ctl register "$F" --retention 365d) || fail "register $F"
CFG=$(ctl --json list | jq -r '.[] | select(.source == "config") | .id')
[ "${#CFG}" -eq 36 ] || fail "config registration id '$CFG'"
wait_until st_is "$G" files "$NBIG" || fail "big: $(st_field "$G" files) files indexed"
wait_until st_is "$A" files 6 || fail "count: $(st_field "$A" files) files indexed"
wait_until st_is "$B" bytes 6144 || fail "size: $(st_field "$B" bytes) bytes indexed"
wait_until st_is "$CFG" files 5 || fail "cfg: $(st_field "$CFG" files) files indexed"
ctl --json list | jq -S 'sort_by(.id)' >"$T/list1" || fail "list"
[ "$(jq length "$T/list1")" -eq 4 ] || fail "list: $(cat "$T/list1")"
stop_daemon || fail "daemon did not stop cleanly"
[ -f "$STATE/store.mdb" ] || fail "no store.mdb in $STATE: $(ls -la "$STATE")"

# --- changes while the daemon is down ---------------------------------------
now=$(date +%s)
for i in 7 8 9 10; do                       # count: 10 > 8
	f=$(printf '%s/d%03d.log' "$D" "$i")
	echo "late $i" >"$f"
	touch -d "@$((now - 60 + i))" "$f"
done
head -c 8192 /dev/zero >"$E/e3.bin"          # size: 2K + 2K + 8K > 10K
rm "$C/c001.log" "$C/c003.log"               # cfg: 3 left, nothing to delete

# --- restart -----------------------------------------------------------------
cat "$HK_LOG" >>"$T/daemon.log.old"
: >"$HK_LOG"
"$HKD" -f -v -c "$T/hk.conf" -S "$STATE" >>"$HK_LOG" 2>&1 &
HK_PID=$!
# the very first answer (polled as soon as the socket is there) already has
# the stored index, before the scan that reconciles it has finished
wait_until ctl --json status >"$T/status0" || fail "status right after restart"
[ "$(jq -r --arg id "$G" '.[] | select(.id == $id) | .files' "$T/status0")" = "$NBIG" ] ||
	fail "index not served warm: first status after restart: $(jq -c --arg id "$G" \
		'.[] | select(.id == $id) | {files, state}' "$T/status0")"
state0=$(jq -r --arg id "$G" '.[] | select(.id == $id) | .state' "$T/status0")
[ "$state0" = scanning ] || echo "note: first status after restart shows state '$state0'" >&2
grep -q "$NBIG files from the stored index" "$HK_LOG" ||
	fail "the stored index of $F was not loaded at start"

# registrations: same ids, same fields
ctl --json list | jq -S 'sort_by(.id)' >"$T/list2" || fail "list after restart"
cmp -s "$T/list1" "$T/list2" ||
	fail "registrations changed across the restart: $(diff "$T/list1" "$T/list2")"

# reconciled and enforced
wait_until st_is "$A" files 8 || fail "count: status shows $(st_field "$A" files) files"
[ "$(names "$D")" = "$(printf 'd%03d.log\n' 3 4 5 6 7 8 9 10)" ] ||
	fail "count: max_files breached while down not restored: $(names "$D")"
wait_until st_is "$B" bytes 10240 || fail "size: status shows $(st_field "$B" bytes) bytes"
st_is "$B" files 2 || fail "size: status shows $(st_field "$B" files) files"
[ "$(names "$E")" = "$(printf 'e2.bin\ne3.bin')" ] ||
	fail "size: max_size breached while down not restored: $(names "$E")"
wait_until st_is "$CFG" files 3 || fail "cfg: status shows $(st_field "$CFG" files) files (2 removed while down)"
[ "$(names "$C")" = "$(printf 'c002.log\nc004.log\nc005.log')" ] || fail "cfg: $(names "$C")"
st_is "$G" files "$NBIG" || fail "big: $(st_field "$G" files) files after reconcile"
# the removed files are really gone from the index: 3 new ones make 6 > 5,
# and exactly the oldest (c002) goes
now=$(date +%s)
for i in 6 7 8; do
	echo "new $i" >"$C/c00$i.log"
	touch -d "@$((now - 10 + i))" "$C/c00$i.log"
done
wait_until count_is "$C" 5 || fail "cfg after new files: $(names "$C")"
sleep 0.3
[ "$(names "$C")" = "$(printf 'c%03d.log\n' 4 5 6 7 8)" ] || fail "cfg survivors: $(names "$C")"
wait_until st_is "$CFG" files 5 || fail "cfg: status shows $(st_field "$CFG" files) files"

# the audit trail has exactly the four deletions
ctl --json audit --all >"$T/audit" || fail "audit"
jq -r '.[] | select(.result == "deleted") | .path' "$T/audit" | LC_ALL=C sort >"$T/audit-paths"
printf '%s\n' "$C/c002.log" "$D/d001.log" "$D/d002.log" "$E/e1.bin" | LC_ALL=C sort >"$T/expect"
cmp -s "$T/audit-paths" "$T/expect" ||
	fail "audit trail: $(diff "$T/expect" "$T/audit-paths"; cat "$T/audit")"
[ "$(jq length "$T/audit")" -eq 4 ] || fail "audit has other records: $(cat "$T/audit")"
jq -e --arg d "$D/d001.log" --arg a "$A" '.[] | select(.path == $d) | .reason == "count" and
	.registration_id == $a and .dry_run == false' "$T/audit" >/dev/null ||
	fail "audit record of d001: $(cat "$T/audit")"
jq -e --arg e "$E/e1.bin" --arg b "$B" '.[] | select(.path == $e) | .reason == "size" and
	.registration_id == $b and .size == 2048' "$T/audit" >/dev/null ||
	fail "audit record of e1: $(cat "$T/audit")"

# a second restart with nothing changed: every count is served at once, and
# the index writes of the last run were all committed
stop_daemon || fail "daemon did not stop cleanly (2)"
restart_daemon
ctl --json status >"$T/status1" || fail "status after the second restart"
for pair in "$A 8" "$B 2" "$CFG 5" "$G $NBIG"; do
	set -- $pair
	got=$(jq -r --arg id "$1" '.[] | select(.id == $id) | .files' "$T/status1")
	[ "$got" = "$2" ] || fail "second restart: $1 serves $got files at first, expected $2"
done
[ "$(jq -r --arg id "$B" '.[] | select(.id == $id) | .bytes' "$T/status1")" = 10240 ] ||
	fail "second restart: size registration bytes $(cat "$T/status1")"
ctl --json audit --all | jq -e 'length == 4' >/dev/null || fail "audit changed across the restart"
ctl --json list | jq -S 'sort_by(.id)' | cmp -s - "$T/list1" || fail "list changed (2)"
stop_daemon || fail "daemon did not stop cleanly (3)"
exit 0
