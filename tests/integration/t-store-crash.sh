#!/bin/sh
# kill -9 at random moments (SPEC 7: "A crash (kill -9) at any moment leaves
# LMDB openable and consistent; on restart the index is reconciled"; SPEC 8:
# one audit record per deleted file). A writer churns uniquely named files
# into three registrations (count, size, and an API one) while the daemon
# is killed and restarted over and over. Every restart must open the store;
# at the end the audit trail must hold exactly one "deleted" record for
# every file that disappeared (the writer never deletes), and nothing else.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"
KILLS=${HK_CRASH_KILLS:-24}
W1="$T/count"   # config: max_files = 5
W2="$T/size"    # config: max_size = 8K, files of 1000 bytes: 8 stay
W3="$T/api"     # api: max_files 3
mkdir -p "$W1" "$W2" "$W3"
write_config <<EOC
[scheduler]
housekeeper_schedule = 0 3 1 1 *

[cleanup "count"]
directory = $W1
pattern = *.log
max_files = 5

[cleanup "size"]
directory = $W2
pattern = *.dat
max_size = 8K
EOC

# launch the daemon in the background (no wait)
launch() {
	"$HKD" -f -v -c "$T/hk.conf" -S "$STATE" >>"$HK_LOG" 2>&1 &
	HK_PID=$!
}

# kill -9 the daemon; it must still be alive (not crashed on its own)
crash() {
	if ! kill -0 "$HK_PID" 2>/dev/null; then
		rc=0
		wait "$HK_PID" || rc=$?
		fail "daemon died on its own before kill $1 (exit status $rc)"
	fi
	kill -9 "$HK_PID"
	rc=0
	{ wait "$HK_PID" || rc=$?; } 2>/dev/null
	HK_PID=
	[ "$rc" -eq 137 ] || fail "kill $1: daemon exit status $rc, expected 137"
}

# a random sleep of 0..$1 ms
rsleep() {
	ms=$(($(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % ($1 + 1)))
	sleep "$(printf '0.%03d' "$ms")"
}

launch
wait_until ctl_up || fail "daemon did not start"
API=$(ctl register "$W3" --pattern '*.txt' --max-files 3) || fail "register $W3"
# the registration must be committed before the first kill
wait_until grep -q "registered as $API" "$HK_LOG" || fail "register not logged"
stop_daemon || fail "clean stop"
launch
wait_until ctl_up || fail "daemon did not restart"
ctl --json list | jq -e --arg id "$API" 'any(.[]; .id == $id)' >/dev/null ||
	fail "API registration lost across a clean restart"

# the writer: unique names, every one logged after it exists; it stops by
# itself when $T/stop appears (so no name is ever left unlogged)
: >"$T/created"
(
	trap - EXIT
	i=0
	pad=$(printf '%1000s' x)
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		n=$(printf '%06d' "$i")
		echo "$n" >"$W1/w$n.log" && echo "$W1/w$n.log" >>"$T/created"
		printf '%s' "$pad" >"$W2/s$n.dat" && echo "$W2/s$n.dat" >>"$T/created"
		if [ $((i % 2)) -eq 0 ]; then
			echo "$n" >"$W3/a$n.txt" && echo "$W3/a$n.txt" >>"$T/created"
		fi
		[ $((i % 8)) -ne 0 ] || sleep 0.01
	done
) &
WPID=$!
HK_EXTRA_CLEANUP='touch "$T/stop"; wait $WPID 2>/dev/null'

k=0
start=$(date +%s)
while [ "$k" -lt "$KILLS" ]; do
	k=$((k + 1))
	# every other time, a manual sweep is running too (the sweep path)
	RUNPID=
	if [ $((k % 2)) -eq 0 ]; then
		ctl run >/dev/null 2>&1 &
		RUNPID=$!
	fi
	rsleep 300
	crash "$k"
	[ -z "$RUNPID" ] || wait "$RUNPID" || :
	if [ $((k % 3)) -eq 0 ]; then
		# now and then a kill during start-up (store open, intent
		# settlement, warm load, first scan)
		launch
		rsleep 60
		kill -0 "$HK_PID" 2>/dev/null || { wait "$HK_PID" || :; HK_PID=;
			fail "daemon exited on its own during start-up (kill $k)"; }
		kill -9 "$HK_PID"; { wait "$HK_PID" || :; } 2>/dev/null; HK_PID=
	fi
	launch
	wait_until ctl_up || fail "restart after kill $k: store did not open / no answer"
	ctl --json list | jq -e --arg id "$API" 'any(.[]; .id == $id)' >/dev/null ||
		fail "API registration lost after kill $k"
	ctl status >/dev/null || fail "status after kill $k"
done
crash final
touch "$T/stop"
wait "$WPID" || fail "writer failed"
HK_EXTRA_CLEANUP=
echo "kills: $KILLS (+$((KILLS / 3)) during start-up) in $(($(date +%s) - start)) s;" \
	"files created: $(wc -l <"$T/created")" >&2
grep -E 'AddressSanitizer|runtime error|assert' "$HK_LOG" && fail "sanitizer/assert report in the log"

# settle: last start, limits enforced, clean stop, one more start to read
launch
wait_until ctl_up || fail "final start"
wait_until count_is "$W1" 5 || fail "count limit not restored: $(count_entries "$W1") files"
wait_until count_is "$W2" 8 || fail "size limit not restored: $(count_entries "$W2") files"
wait_until count_is "$W3" 3 || fail "api limit not restored: $(count_entries "$W3") files"
wait_until st_is "$API" files 3 || fail "api status: $(st_field "$API" files) files"
for r in count:5:35 size:8:8000; do
	id=$(ctl --json status | jq -r --arg n "${r%%:*}" '.[] | select(.name == $n) | .id')
	n=${r#*:}
	wait_until st_is "$id" files "${n%%:*}" || fail "${r%%:*}: status shows $(st_field "$id" files) files"
	st_is "$id" bytes "${n#*:}" || fail "${r%%:*}: status shows $(st_field "$id" bytes) bytes"
done
stop_daemon || fail "clean stop at the end"
launch
wait_until ctl_up || fail "start after the clean stop"

# deleted by the daemon = created - present
LC_ALL=C sort "$T/created" >"$T/created.s"
[ "$(uniq -d "$T/created.s" | wc -l)" -eq 0 ] || fail "writer logged a name twice"
for d in "$W1" "$W2" "$W3"; do
	find "$d" -mindepth 1 -maxdepth 1
done | LC_ALL=C sort >"$T/present"
comm -23 "$T/present" "$T/created.s" >"$T/unknown"
[ ! -s "$T/unknown" ] || fail "files the writer did not log: $(head "$T/unknown")"
comm -23 "$T/created.s" "$T/present" >"$T/deleted"

ctl --json audit --all >"$T/audit.json" || fail "audit"
jq -r '.[] | select(.result == "deleted") | .path' "$T/audit.json" | LC_ALL=C sort >"$T/audit.all"
uniq -d "$T/audit.all" >"$T/audit.dups"
LC_ALL=C sort -u "$T/audit.all" >"$T/audit.set"
comm -23 "$T/deleted" "$T/audit.set" >"$T/missing"
comm -13 "$T/deleted" "$T/audit.set" >"$T/extra"
nd=$(wc -l <"$T/deleted")
na=$(jq length "$T/audit.json")
echo "deleted: $nd, audit records: $na; intents settled at start-up:" \
	"$(sed -n 's/.*settled \([0-9]*\) audit intents.*/\1/p' "$HK_LOG" | tr '\n' ' ')" >&2
jq -r '.[] | select(.result != "deleted") | "\(.result) \(.path)"' "$T/audit.json" >"$T/other"
bad=
[ ! -s "$T/audit.dups" ] || bad="$bad; $(wc -l <"$T/audit.dups") paths with more than one record: $(head -5 "$T/audit.dups" | tr '\n' ' ')"
[ ! -s "$T/missing" ] || bad="$bad; $(wc -l <"$T/missing") deleted files without a record: $(head -5 "$T/missing" | tr '\n' ' ')"
[ ! -s "$T/extra" ] || bad="$bad; $(wc -l <"$T/extra") records for files not deleted: $(head -5 "$T/extra" | tr '\n' ' ')"
[ ! -s "$T/other" ] || bad="$bad; $(wc -l <"$T/other") records with another result: $(head -5 "$T/other" | tr '\n' ' ')"
[ "$na" -eq "$nd" ] || bad="$bad; $na records for $nd deleted files"
[ -z "$bad" ] || fail "audit trail after $KILLS kills${bad}"
[ "$nd" -gt 0 ] || fail "nothing was deleted"
jq -e 'all(.[]; .dry_run == false and (.reason == "count" or .reason == "size"))' \
	"$T/audit.json" >/dev/null || fail "audit reasons/dry_run: $(jq -c 'map({reason, dry_run}) | unique' "$T/audit.json")"
stop_daemon || fail "final clean stop"
exit 0
