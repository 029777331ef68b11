#!/bin/sh
# Stopped daemon + 30,000 new files: the inotify queue overflows; on
# SIGCONT the daemon rescans and restores the limit, and says so.
. "$(dirname "$0")/lib.sh"
D="$T/flood"
mkdir -p "$D"
write_config <<EOC
[cleanup "flood"]
directory = $D
max_files = 100
EOC
start_daemon
kill -STOP "$HK_PID"
python3 - "$D" <<'EOP'
import os, sys
d = sys.argv[1]
for i in range(30000):
    fd = os.open(os.path.join(d, "f%05d" % i), os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)
EOP
kill -CONT "$HK_PID"
HK_WAIT=120 wait_until count_is "$D" 100 || fail "limit not restored after overflow: $(count_entries "$D") files"
grep -q "overflow" "$HK_LOG" || fail "overflow not reported"
# the newest 100 by mtime (ties by name) survive: f29900..f29999 at the latest
[ -e "$D/f29999" ] || fail "newest file deleted"
exit 0
