#!/bin/sh
# max_size deletes the oldest files until the total is under the cap.
. "$(dirname "$0")/lib.sh"
D="$T/cache"
mkdir -p "$D"
now=$(date +%s)
for i in 1 2 3 4 5 6; do
	head -c 10240 /dev/zero >"$D/blob$i"
	touch -d "@$((now - 1000 + i))" "$D/blob$i"
done
write_config <<EOC
[cleanup "size"]
directory = $D
max_size = 40K
EOC
start_daemon
wait_until count_is "$D" 4 || fail "size enforcement at scan: $(names "$D")"
[ "$(names "$D")" = "$(printf 'blob3\nblob4\nblob5\nblob6')" ] || fail "survivors: $(names "$D")"
# a big new file pushes the two oldest out
head -c 20000 /dev/zero >"$D/big"
wait_until count_is "$D" 3 || fail "size enforcement on event: $(names "$D")"
[ "$(names "$D")" = "$(printf 'big\nblob5\nblob6')" ] || fail "survivors after event: $(names "$D")"
exit 0
