#!/bin/sh
# One unit grammar and register's replace semantics (issue 18): no unit
# letter means two things (M is MiB, never a month; m is minutes, never
# MiB) in the CLI, the configuration (-t) and the control protocol, and
# the error texts list the units the man page lists; registering again
# with fewer options replaces the registration (an omitted option gets
# its default); the system-directory refusal names ways that exist.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
D="$T/logs"
mkdir -p "$D"
ctl_daemon <<EOC
[cleanup "placeholder"]
directory = $T
pattern = none-such
max_files = 1
EOC

# the CLI: M as a duration, m as a size: usage errors that list the units
rc=0; ctl register "$D" --retention 1M 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] || fail "--retention 1M: exit $rc (a month?), expected 2"
grep -q 'use s, m or min, h, d or w' "$T/err" || fail "--retention 1M: $(cat "$T/err")"
grep -q 'sizes' "$T/err" || fail "--retention 1M does not say M is a size: $(cat "$T/err")"
rc=0; ctl register "$D" --max-size 500m 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] || fail "--max-size 500m: exit $rc, expected 2"
grep -q 'use K, M, G or T' "$T/err" || fail "--max-size 500m: $(cat "$T/err")"
for bad in 1y 2months 1500ms; do
	rc=0; ctl register "$D" --retention "$bad" 2>/dev/null || rc=$?
	[ "$rc" -eq 2 ] || fail "--retention $bad: exit $rc, expected 2"
done
# the protocol's strings: the same grammar
ID=$(ctl register "$D" --retention 90m --max-size 5M --max-files 7 --priority 5 --description d)
ctl --json list | jq -e --arg id "$ID" '.[] | select(.id == $id) | .retention == 5400 and
	.max_size == 5242880' >/dev/null || fail "90m / 5M: $(ctl --json list)"
printf '{"v":1,"id":1,"op":"register_cleanup","args":{"directory":"%s","retention":"1M"}}' "$D" |
	python3 -c '
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
p = sys.stdin.buffer.read(); s.sendall(struct.pack(">I", len(p)) + p)
n = struct.unpack(">I", s.recv(4))[0]; b = b""
while len(b) < n: b += s.recv(n - len(b))
print(b.decode())' "$S" >"$T/raw" || fail "raw register"
jq -e '.ok == false and (.error.message | test("unknown unit \"M\""))' "$T/raw" >/dev/null ||
	fail "the protocol takes \"1M\" as a duration: $(cat "$T/raw")"

# the configuration: the same errors, with file:line
printf '[cleanup "a"]\ndirectory = %s\nretention = 1M\n[cleanup "b"]\ndirectory = %s\nmax_size = 1m\n' \
	"$D" "$D" >"$T/units.conf"
rc=0; "$HKD" -t -c "$T/units.conf" >"$T/t.out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "-t of retention = 1M: exit $rc"
grep -q 'units.conf:3: .*unknown unit "M" (use s, m or min, h, d or w' "$T/t.out" ||
	fail "-t retention: $(cat "$T/t.out")"
grep -q 'units.conf:6: .*unknown unit "m" (use K, M, G or T' "$T/t.out" ||
	fail "-t max_size: $(cat "$T/t.out")"
# the man page lists the same units
man="$top_builddir/man/housekeeper.conf.5"
if [ -f "$man" ]; then
	sed -n '/^Durations take/,/^Booleans/p' "$man" >"$T/units.man"
	for u in 's' 'm' 'min' 'h' 'd' 'w' 'K' 'M' 'G' 'T'; do
		grep -q "^\.Cm $u\( \|$\)" "$T/units.man" || fail "housekeeper.conf(5) does not list the unit $u"
	done
	grep -qi 'no months' "$T/units.man" || fail "housekeeper.conf(5) does not say there are no months"
fi

# register again with fewer options: they are replaced, the omitted ones reset
ID2=$(ctl register "$D" --retention 90m) || fail "register again"
[ "$ID2" = "$ID" ] || fail "register again gave another id: $ID2"
ctl --json list | jq -e --arg id "$ID" '.[] | select(.id == $id) | .retention == 5400 and
	.max_size == null and .max_files == null and .priority == 100 and .description == null' \
	>/dev/null || fail "register again merged instead of replacing: $(ctl --json list)"
ctl register --help | grep -q 'replaces the options' || fail "register --help does not say it replaces"
# update changes single options
ctl update "$ID" --max-files 3 || fail "update"
ctl --json list | jq -e --arg id "$ID" '.[] | select(.id == $id) | .retention == 5400 and
	.max_files == 3' >/dev/null || fail "update lost the other options"

# a system directory through the CLI: the ways named exist
rc=0; ctl register /etc 2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] || fail "register /etc: exit $rc"
grep -q 'allow_system_directory = yes in the configuration' "$T/err" ||
	fail "register /etc does not name the configuration key: $(cat "$T/err")"
grep -q -- '--allow' "$T/err" && fail "register /etc suggests a flag: $(cat "$T/err")"
ctl register --help | grep -q -- '--allow' && fail "the help has an --allow option now; say so in the refusal"
exit 0
