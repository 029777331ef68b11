#!/bin/sh
# status shows the later limits of SPEC 5 (issue 19) where a registration
# sets them, in the table's text and in --json: min_free / free_target
# with the free space of the directory's filesystem now and whether it is
# below the floor, low_watermark (and a trim under way), unit,
# skip_open, remove_empty_dirs; a registration that sets none has no line.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
mkdir -p "$T/lim" "$T/units" "$T/plain"
mkfiles "$T/lim" f 3
ctl_daemon <<EOC
[cleanup "lim"]
directory = $T/lim
recursive = yes
max_files = 10
min_free = 1K
free_target = 2K
low_watermark = 80%
skip_open = yes
remove_empty_dirs = yes

[cleanup "units"]
directory = $T/units
unit = directory
retention = 1d

[cleanup "plain"]
directory = $T/plain
max_files = 5
EOC
wait_until sh -c "'$HKCTL' -s '$S' --json status | jq -e 'all(.[]; .state == \"watching\")' >/dev/null" ||
	fail "not watching: $(ctl --json status)"
ctl --json status >"$T/st.json" || fail "status --json"
jq -e '.[] | select(.name == "lim") | .min_free == "1K" and .free_target == "2K" and
	.low_watermark == "80%" and .skip_open and .remove_empty_dirs and .unit == "file" and
	(.free_bytes | type) == "number" and .free_bytes > 0 and .free_active == false and
	.trimming == false' "$T/st.json" >/dev/null || fail "status --json of lim: $(cat "$T/st.json")"
jq -e '.[] | select(.name == "units") | .unit == "directory" and .free_bytes == null and
	.min_free == null' "$T/st.json" >/dev/null || fail "status --json of units: $(cat "$T/st.json")"
ctl status >"$T/st" || fail "status"
grep -qx 'lim: min_free=1K free_target=2K low_watermark=80% skip_open=yes remove_empty_dirs=yes' "$T/st" ||
	fail "no line of lim's limits: $(cat "$T/st")"
grep -Eq '^  now: [0-9.]+ [KMGT]?i?B free$' "$T/st" || fail "no free space of lim: $(cat "$T/st")"
grep -qx 'units: unit=directory' "$T/st" || fail "no line of units' limits: $(cat "$T/st")"
grep -q '^plain:' "$T/st" && fail "a line for plain, which sets no later limit: $(cat "$T/st")"
awk 'length > 100 { bad = 1; print "too wide (" length "): " $0 } END { exit bad }' "$T/st" ||
	fail "status is wider than 100 columns"
exit 0
