#!/bin/sh
# A realtime clock that jumps 30 days forward (monotonic time does not)
# must not make every file look old: age deletions pause with an error;
# count limits keep working; a reload accepts the new time.
. "$(dirname "$0")/lib.sh"
FT=
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1; do
	[ -e "$f" ] && FT=$f && break
done
[ -n "$FT" ] || skip "needs libfaketime (apt-get install faketime)"
# libfaketime's interposed clocks deadlock AddressSanitizer's start-up:
# this test runs in the plain build
ldd "$HKD" 2>/dev/null | grep -q libasan && skip "libfaketime does not work under ASan"
PRELOAD=$FT
D="$T/logs"
C="$T/count"
mkdir -p "$D" "$C"
now=$(date +%s)
for i in 1 2 3; do
	echo "$i" >"$D/day$i.log"
	touch -d "@$((now - 86400 * i))" "$D/day$i.log"
done
write_config <<EOC
[cleanup "age"]
directory = $D
retention = 7d

[cleanup "count"]
directory = $C
max_files = 2
EOC
echo "+0" >"$T/faketime"
export FAKETIME_TIMESTAMP_FILE="$T/faketime" FAKETIME_NO_CACHE=1 DONT_FAKE_MONOTONIC=1
LD_PRELOAD="$PRELOAD" start_daemon
unset FAKETIME_TIMESTAMP_FILE FAKETIME_NO_CACHE DONT_FAKE_MONOTONIC
sleep 0.5
[ "$(count_entries "$D")" -eq 3 ] || fail "files deleted before the jump"
echo "+30d" >"$T/faketime"
# an event makes the daemon look at the clock
echo new >"$D/new.log"
for i in 1 2 3; do echo "$i" >"$C/c$i"; sleep 0.05; done
wait_until count_is "$C" 2 || fail "count limit stopped working"
wait_for_log "clock jumped" || fail "jump not reported"
sleep 0.5
[ "$(count_entries "$D")" -eq 4 ] || fail "age deletions after a clock jump: $(names "$D")"
# status says so (issue 18)
"$HKCTL" -s "$T/state/housekeeper.sock" status >"$T/status" || fail "status"
grep -Eq '^age +age-paused ' "$T/status" || fail "status does not say age is paused: $(cat "$T/status")"
# the operator accepts the new time
kill -HUP "$HK_PID"
# in the accepted time every file here is older than 7 days, new.log too
wait_until count_is "$D" 0 || fail "reload did not accept the new time: $(names "$D")"
exit 0
