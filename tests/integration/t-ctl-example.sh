#!/bin/sh
# The example program (contrib/examples/register-logs.c) registers its log
# directory through libhousekeeper at every start, as the seed's modules
# do: the registration shows in `list`, a second start returns the same id,
# and the daemon enforces it.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
EX="$top_builddir/contrib/examples/register-logs"
[ -x "$EX" ] || skip "example program not built"
D="$T/traces"
mkdir -p "$D"
write_config </dev/null
start_daemon
S="$T/state/housekeeper.sock"
wait_until test -S "$S" || fail "no control socket"
HOUSEKEEPER_SOCKET="$S" "$EX" "$D" >"$T/out1" || fail "example failed: $(cat "$T/out1")"
HOUSEKEEPER_SOCKET="$S" "$EX" "$D" >"$T/out2" || fail "example failed twice"
id1=$(awk '{print $NF}' "$T/out1")
id2=$(awk '{print $NF}' "$T/out2")
[ "$id1" = "$id2" ] || fail "the second start got another id: $id1 vs $id2"
"$HKCTL" -s "$S" --json list >"$T/list"
jq -e --arg id "$id1" --arg d "$D" '.[] | select(.id == $id) | .directory == $d and .pattern == "trace_*"
	and .retention == 604800 and .max_files == 100 and .source == "api"' "$T/list" >/dev/null ||
	fail "registration not listed as expected: $(cat "$T/list")"
[ "$(jq length "$T/list")" -eq 1 ] || fail "duplicate registrations: $(cat "$T/list")"
# enforced: the 100-file limit on trace_* files
python3 - "$D" <<'EOP'
import os, sys
for i in range(105):
    open(os.path.join(sys.argv[1], "trace_%03d" % i), "w").close()
EOP
wait_until count_is "$D" 100 || fail "max_files of the example's registration not enforced: $(count_entries "$D")"
exit 0
