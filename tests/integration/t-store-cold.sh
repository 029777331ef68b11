#!/bin/sh
# A cold index (nothing stored yet) is ready once its first scan ends, and
# is written to the store after it (engine_persist.c): files created and
# deleted meanwhile, and a stop right after the scan, must still leave the
# store holding exactly the files on disk, so the next start is warm with
# the right count.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"
D="$T/cold"
N=30000
mkdir -p "$D"
(cd "$D" && seq -f 'f%05g.bin' 1 "$N" | xargs touch)
write_config <<EOC
[scheduler]
housekeeper_schedule = 0 3 1 1 *

[cleanup "cold"]
directory = $D
retention = 3650d
EOC

# 1. changes right after the scan, while the index is being stored
start_daemon
wait_for_log "scan: $D: $N files" || fail "first scan did not finish"
(cd "$D" && seq -f 'f%05g.bin' 1 7 "$N" | xargs rm -f)
(cd "$D" && seq -f 'g%05g.bin' 1 3000 | xargs touch)
ondisk=$(ls "$D" | wc -l)
files_is() { [ "$(ctl --json status | jq '.[0].files')" = "$1" ]; }
wait_until files_is "$ondisk" ||
	fail "status: $(ctl --json status | jq -c '.[0] | {files, state}'), $ondisk on disk"
wait_for_log "index stored" || fail "the cold index was never stored"
stop_daemon || fail "daemon did not stop cleanly"
restart_daemon
wait_for_log "$ondisk files from the stored index" ||
	fail "warm start did not load the $ondisk files on disk: $(grep 'stored index' "$HK_LOG")"
stop_daemon || fail "second stop"

# 2. a stop right after the first scan: the rest is stored at shutdown
rm -rf "$STATE"
cat "$HK_LOG" >>"$T/daemon.log.old"
: >"$HK_LOG"
start_daemon
# poll tightly: the stop must come while the index is still being stored
i=0
while ! grep -q "scan: $D: $ondisk files" "$HK_LOG"; do
	i=$((i + 1))
	[ $i -lt 20000 ] || fail "first scan (2) did not finish"
	sleep 0.002
done
stop_daemon || fail "stop right after the scan"
grep -q "index stored" "$HK_LOG" || fail "the rest of the index was not stored at shutdown"
restart_daemon
wait_for_log "$ondisk files from the stored index" ||
	fail "stop right after the scan: $(grep 'stored index' "$HK_LOG")"
