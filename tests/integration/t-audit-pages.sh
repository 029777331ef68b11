#!/bin/sh
# `audit` is paged (SPEC 9): 30,000 records come 1,000 at a time with a
# cursor; following the cursors gives every record exactly once, in
# order; --limit and --since work; one reply stays under the byte budget
# (4 MiB) however large the limit; the human output says how to go on.
. "$(dirname "$0")/lib.sh"
N=30000
D="$T/d"
mkdir -p "$D"
# long names (about 500 bytes of JSON a record): 10,000 records would be
# over the budget. mtimes increase with the name, so the oldest first
# order of the deletions is the order of the names.
python3 - "$D" "$N" <<'EOP'
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
base = time.time() - 86400
pad = "x" * 240
for i in range(n):
    p = os.path.join(d, "f%05d-%s" % (i, pad))
    os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
    os.utime(p, (base + i, base + i))
EOP
write_config <<EOC
[cleanup "all"]
directory = $D
max_files = 0
EOC
start_daemon
S="$T/state/housekeeper.sock"
ctl() { "$HKCTL" -s "$S" "$@"; }
HK_WAIT=180 wait_until count_is "$D" 0 || fail "files not deleted: $(count_entries "$D") left"
records() { ctl --json audit --all | jq length; }
HK_WAIT=60 wait_until sh -c '[ "$("$1" -s "$2" --json audit --all | jq length)" -eq "$3" ]' _ \
	"$HKCTL" "$S" "$N" || fail "audit has $(records) records, not $N"

# the first page: 1,000 records and a cursor
ctl --json audit >"$T/p0" || fail "audit"
[ "$(jq '.records | length' "$T/p0")" -eq 1000 ] || fail "first page: $(jq '.records | length' "$T/p0") records"
jq -e '.next_cursor | type == "string"' "$T/p0" >/dev/null || fail "first page without a cursor: $(jq .next_cursor "$T/p0")"

# following the cursors: every record once, in deletion order
: >"$T/paths"
page="$T/p0"
pages=1
while :; do
	jq -r '.records[].path' "$page" >>"$T/paths"
	cur=$(jq -r '.next_cursor // empty' "$page")
	[ -n "$cur" ] || break
	pages=$((pages + 1))
	[ "$pages" -le 40 ] || fail "more than 40 pages of 1,000 for $N records"
	ctl --json audit --cursor "$cur" >"$T/pn" || fail "audit --cursor $cur"
	mv "$T/pn" "$T/p"
	page="$T/p"
done
[ "$pages" -eq 30 ] || fail "$pages pages, expected 30"
(cd "$D" && python3 -c 'import sys; [print("%s/f%05d-%s" % (sys.argv[1], i, "x" * 240)) for i in range(int(sys.argv[2]))]' "$D" "$N") >"$T/want"
cmp -s "$T/paths" "$T/want" || fail "paged records differ from the deletions (first difference: $(cmp "$T/paths" "$T/want" 2>&1 | head -1)); $(wc -l <"$T/paths") records, $(sort -u "$T/paths" | wc -l) distinct"

# --limit
ctl --json audit --limit 10 | jq -e '(.records | length) == 10 and (.next_cursor | type) == "string"' \
	>/dev/null || fail "--limit 10"
rc=0; ctl audit --limit 0 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--limit 0: exit $rc, expected 2"
rc=0; ctl audit --limit 10001 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--limit 10001: exit $rc, expected 2"
rc=0; ctl audit --cursor bogus >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "--cursor bogus: exit $rc, expected 1"

# the byte budget: a page of up to 10,000 long records stops at 4 MiB,
# with a cursor, and the next page goes on where it stopped
ctl --json audit --limit 10000 >"$T/big" || fail "audit --limit 10000"
n=$(jq '.records | length' "$T/big")
bytes=$(jq -c . "$T/big" | wc -c)
[ "$n" -lt 10000 ] && [ "$n" -gt 1000 ] || fail "a page of 10,000 long records has $n records"
[ "$bytes" -le $((4 * 1024 * 1024 + 4096)) ] || fail "one reply is $bytes bytes"
jq -e '.next_cursor | type == "string"' "$T/big" >/dev/null || fail "budget page without a cursor"
cur=$(jq -r .next_cursor "$T/big")
first=$(ctl --json audit --limit 1 --cursor "$cur" | jq -r '.records[0].path')
[ "$first" = "$(sed -n "$((n + 1))p" "$T/want")" ] || fail "after the budget page: $first"

# --since: the records from that time on, and only those
t=$(jq '.records[0].time' "$T/p")
want=$(jq --argjson t "$t" '[.[] | select(.time >= $t)] | length' <<EOF
$(ctl --json audit --all)
EOF
)
got=$(ctl --json audit --all --since "@$t" | jq length)
[ "$got" -eq "$want" ] && [ "$got" -gt 0 ] && [ "$got" -lt "$N" ] ||
	fail "--since @$t: $got records, expected $want"
ctl --json audit --since "@$t" | jq -e --argjson t "$t" 'all(.records[]; .time >= $t)' >/dev/null ||
	fail "--since @$t: older records"

# human output: the records, then how to go on
ctl audit --limit 5 >"$T/human" || fail "audit (human)"
[ "$(grep -c "$D/f0000[0-4]-" "$T/human")" -eq 5 ] || fail "human page: $(cat "$T/human")"
last=$(tail -n 1 "$T/human")
case "$last" in
"more records follow: housekeeperctl audit --limit 5 --cursor c1-"*) ;;
*) fail "human output does not end with how to continue: $last" ;;
esac
cur=${last##* --cursor }
ctl audit --limit 5 --cursor "$cur" | grep -q "$D/f00005-" || fail "continuing the human output"
exit 0
