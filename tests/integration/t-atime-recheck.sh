#!/bin/sh
# age_by = atime: no event reports a read (IN_ACCESS is not watched), so
# the index still holds the atime of the decision when the age timer
# fires. A file read a second before it expires must be kept (the
# deletion re-checks the age key, reap.c), and deleted once it has not
# been read for the retention.
. "$(dirname "$0")/lib.sh"
D="$T/d"
mkdir -p "$D"
write_config <<EOC
[cleanup "a"]
directory = $D
retention = 4s
age_by = atime
EOC
start_daemon
echo data >"$D/read.log"
sleep 3
a0=$(stat -c %X "$D/read.log")
cat "$D/read.log" >/dev/null
a1=$(stat -c %X "$D/read.log")
[ "$a1" -gt "$a0" ] || skip "a read does not update atime here (noatime?)"
# past the expiry of the unread file (t0 + 4 s)
sleep 2.5
[ -e "$D/read.log" ] || fail "a file read 1 s before its atime expiry was deleted at the expiry"
# and it goes once unread for the retention (t0 + 3 + 4 s)
wait_until test ! -e "$D/read.log" || fail "the file was not deleted after it expired again"
exit 0
