#!/bin/sh
# --once --dry-run deletes nothing and reports exactly what --once then
# deletes, across overlapping registrations applied in priority order.
. "$(dirname "$0")/lib.sh"
D="$T/data"
mkdir -p "$D"
mkfiles "$D" a 12
now=$(date +%s)
for i in 1 2 3 4 5; do
	echo "$i" >"$D/t$i.tmp"
	touch -d "@$((now - 90000 - i))" "$D/t$i.tmp"
done
echo fresh >"$D/fresh.tmp"
write_config <<EOC
[cleanup "logs-first"]
directory = $D
pattern = *.log
max_files = 6
priority = 10

[cleanup "everything"]
directory = $D
max_files = 9
retention = 1d
priority = 20
EOC
find "$D" -type f -printf '%f %T@\n' | sort >"$T/before"
"$HKD" --once --dry-run -c "$T/hk.conf" -S "$T/state" >"$T/dry" || fail "dry run failed"
find "$D" -type f -printf '%f %T@\n' | sort >"$T/after-dry"
cmp -s "$T/before" "$T/after-dry" || fail "dry run changed the directory"
"$HKD" --once -c "$T/hk.conf" -S "$T/state" >"$T/real" || fail "real run failed"
awk '$1 == "would-delete" { print $2, $NF }' "$T/dry" | sort >"$T/dry-list"
awk '$1 == "deleted" { print $2, $NF }' "$T/real" | sort >"$T/real-list"
[ -s "$T/real-list" ] || fail "nothing deleted: $(cat "$T/real")"
cmp -s "$T/dry-list" "$T/real-list" || fail "dry run and real run differ: $(diff "$T/dry-list" "$T/real-list")"
# logs-first keeps a007..a012; everything (9 newest of what is left: 6 logs +
# fresh.tmp + t1..t5 minus the 1-day-old t*) keeps the logs and fresh.tmp
[ "$(names "$D")" = "$(printf 'a007.log\na008.log\na009.log\na010.log\na011.log\na012.log\nfresh.tmp')" ] ||
	fail "survivors: $(names "$D")"
for f in $(awk '{print $NF}' "$T/real-list"); do [ ! -e "$f" ] || fail "$f reported deleted but exists"; done
exit 0
