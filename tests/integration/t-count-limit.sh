#!/bin/sh
# max_files keeps exactly the newest N (by mtime, ties by name), enforced
# on file events without any sweep; non-matching files are untouched.
. "$(dirname "$0")/lib.sh"
D="$T/logs"
mkdir -p "$D"
mkfiles "$D" old 8
echo keep >"$D/notes.txt"
write_config <<EOC
[cleanup "count"]
directory = $D
pattern = *.log
max_files = 5
EOC
start_daemon
# the first scan enforces the limit on what was there
wait_until count_is "$D" 6 || fail "initial enforcement: $(names "$D")"
[ "$(names "$D")" = "$(printf 'notes.txt\nold004.log\nold005.log\nold006.log\nold007.log\nold008.log')" ] ||
	fail "wrong survivors after scan: $(names "$D")"

# new files arrive: each create breaks the limit and is answered at once
for i in 1 2 3; do
	echo "new $i" >"$D/new$i.log"
done
wait_until count_is "$D" 6 || fail "event enforcement: $(names "$D")"
[ "$(names "$D")" = "$(printf 'new1.log\nnew2.log\nnew3.log\nnotes.txt\nold007.log\nold008.log')" ] ||
	fail "wrong survivors after events: $(names "$D")"

# ties in mtime are broken by name (byte order): the smaller name is older
D2="$T/ties"
mkdir -p "$D2"
stamp=$(($(date +%s) - 100))
for n in b a c e d f; do
	echo x >"$D2/tie-$n.log"
	touch -d "@$stamp" "$D2/tie-$n.log"
done
stop_daemon || fail "daemon did not stop cleanly"
cat >>"$T/hk.conf" <<EOC

[cleanup "ties"]
directory = $D2
max_files = 3
EOC
start_daemon
wait_until count_is "$D2" 3 || fail "tie enforcement: $(names "$D2")"
[ "$(names "$D2")" = "$(printf 'tie-d.log\ntie-e.log\ntie-f.log')" ] ||
	fail "ties not broken by name: $(names "$D2")"
exit 0
