#!/bin/sh
# Files older than retention go at once; fresh ones go when they expire,
# on the registration's timer (no sweep involved).
. "$(dirname "$0")/lib.sh"
D="$T/tmp"
mkdir -p "$D"
echo old >"$D/old.tmp"
touch -d "@$(($(date +%s) - 7200))" "$D/old.tmp"
write_config <<EOC
[cleanup "age"]
directory = $D
retention = 3s
EOC
start_daemon
wait_until test ! -e "$D/old.tmp" || fail "expired file not deleted at scan"
echo fresh >"$D/fresh.tmp"
sleep 1
[ -e "$D/fresh.tmp" ] || fail "fresh file deleted too early"
wait_until test ! -e "$D/fresh.tmp" || fail "file not deleted when it expired"
exit 0
