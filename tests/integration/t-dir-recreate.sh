#!/bin/sh
# A registered directory that is removed, then created again, is picked up
# again (new inode, new watch) without a restart; one that does not exist
# at start is picked up when it appears.
. "$(dirname "$0")/lib.sh"
D="$T/parent/logs"
mkdir -p "$T/parent"
write_config <<EOC
[cleanup "late"]
directory = $D
max_files = 2
EOC
start_daemon
mkdir -p "$D"
sleep 0.3
for i in 1 2 3 4; do echo $i >"$D/f$i"; sleep 0.05; done
wait_until count_is "$D" 2 || fail "directory created after start not enforced: $(names "$D")"
rm -rf "$D"
sleep 0.3
mkdir "$D"
sleep 0.3
for i in 1 2 3 4 5; do echo $i >"$D/g$i"; sleep 0.05; done
wait_until count_is "$D" 2 || fail "recreated directory not enforced: $(names "$D")"
kill -0 "$HK_PID" || fail "daemon died"
exit 0
