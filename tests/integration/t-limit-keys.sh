#!/bin/sh
# The keys of SPEC 5's later limits (min_free, free_target, low_watermark,
# skip_open, unit, remove_empty_dirs) everywhere but the engine (issue 19):
# -t names file:line of a bad value, -T prints them, housekeeperctl
# register/update and the raw API take them (a bad value's error names the
# field), list --json/status --json/list show them, and an API
# registration keeps them across a restart (LMDB record version 2).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"
mkdir -p "$T/cfg" "$T/a" "$T/b" "$T/c"

# --- -t and -T ---------------------------------------------------------------
cat >"$T/bad.conf" <<EOC
[cleanup "bad"]
directory = $T/cfg
min_free = 10
free_target = 120%
low_watermark = 80
skip_open = maybe
unit = tree
remove_empty_dirs = perhaps
EOC
rc=0
"$HKD" -t -c "$T/bad.conf" >"$T/out" 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "bad values: -t exit $rc: $(cat "$T/out")"
for l in 3 4 5 6 7 8; do
	grep -q "^$T/bad.conf:$l: " "$T/out" || fail "-t: no error for line $l: $(cat "$T/out")"
done
cat >"$T/ok.conf" <<EOC
[cleanup "cfg"]
directory = $T/cfg
max_files = 10
min_free = 10%
free_target = 15%
low_watermark = 80%
skip_open = yes

[cleanup "jobs"]
directory = $T/jobs
max_files = 10
unit = directory
EOC
"$HKD" -t -c "$T/ok.conf" >"$T/out" 2>&1 || fail "-t rejects the keys: $(cat "$T/out")"
"$HKD" -T -c "$T/ok.conf" >"$T/print" 2>&1 || fail "-T failed"
for kv in "min_free = 10%" "free_target = 15%" "low_watermark = 80%" "skip_open = true" \
	"unit = directory" "remove_empty_dirs = false"; do
	grep -q "^$kv" "$T/print" || fail "-T lacks '$kv': $(cat "$T/print")"
done

# --- the daemon ----------------------------------------------------------------
{ printf '[scheduler]\nhousekeeper_schedule = 0 3 1 1 *\n\n'; cat "$T/ok.conf"; } >"$T/hk.conf"
start_daemon
wait_until ctl_up || fail "control socket does not answer"
A=$(ctl register "$T/a" --max-files 100 --min-free 5% --free-target 2G --low-watermark 80% \
	--skip-open --recursive --remove-empty-dirs) || fail "register $T/a"
B=$(ctl register "$T/b" --max-size 1M --unit directory --low-watermark 50%) ||
	fail "register $T/b"
# a bad value: usage error (2) naming the option, before the daemon
rc=0
ctl register "$T/c" --low-watermark 120% 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q -- '--low-watermark' "$T/err" || fail "--low-watermark 120%: $rc $(cat "$T/err")"
rc=0
ctl register "$T/c" --unit tree 2>"$T/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q -- '--unit' "$T/err" || fail "--unit tree: $rc $(cat "$T/err")"
# cross-key checks of the daemon: exit 1, the field named
rc=0
ctl --json register "$T/c" --remove-empty-dirs >"$T/err" || rc=$?
[ "$rc" -eq 1 ] && jq -e '.error.message | test("remove_empty_dirs")' "$T/err" >/dev/null ||
	fail "remove_empty_dirs without recursive: $rc $(cat "$T/err")"

# the raw API: strings like the INI, booleans, null; errors name the field
python3 - "$SOCK" "$T/c" >"$T/api" <<'EOP' || fail "API: $(cat "$T/api")"
import json, socket, sys
sys.path.insert(0, "%s/tests/integration" % __import__("os").environ["top_srcdir"])
import hkproto
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
r = hkproto.exchange(s, 1, "register_cleanup", {
    "directory": sys.argv[2], "max_files": 3, "min_free": "1G", "free_target": 3 << 30,
    "low_watermark": "90%", "skip_open": False, "unit": "file", "remove_empty_dirs": None})
assert "result" in r, r
for i, (k, v) in enumerate([("min_free", "10"), ("min_free", "100%"), ("free_target", True),
                            ("low_watermark", 80), ("low_watermark", "0%"),
                            ("skip_open", "yes"), ("unit", "tree"),
                            ("remove_empty_dirs", 1)]):
    e = hkproto.exchange(s, 2 + i, "update_cleanup_config", {"id": r["result"]["id"], k: v})
    assert "error" in e and e["error"]["message"].startswith(k + ":"), (k, v, e)
print(r["result"]["id"])
EOP
C=$(cat "$T/api")

ctl --json list >"$T/list1" || fail "list"
chk() { # ID JQ-EXPR: the registration ID in $T/list1 satisfies the expression
	jq -e --arg id "$1" ".[] | select(.id == \$id) | $2" "$T/list1" >/dev/null ||
		fail "$1: not ($2): $(jq -c --arg id "$1" '.[] | select(.id == $id)' "$T/list1")"
}
chk "$A" '.min_free == "5%" and .free_target == "2G" and .low_watermark == "80%" and
	.skip_open == true and .unit == "file" and .remove_empty_dirs == true'
chk "$B" '.min_free == null and .free_target == null and .low_watermark == "50%" and
	.skip_open == false and .unit == "directory" and .remove_empty_dirs == false'
chk "$C" '.min_free == "1G" and .free_target == "3G" and .low_watermark == "90%" and
	.skip_open == false and .unit == "file"'
CFG=$(jq -r '.[] | select(.source == "config" and .name == "cfg") | .id' "$T/list1")
chk "$CFG" '.min_free == "10%" and .free_target == "15%" and .low_watermark == "80%" and
	.skip_open == true and .unit == "file"'
JOBS=$(jq -r '.[] | select(.source == "config" and .name == "jobs") | .id' "$T/list1")
chk "$JOBS" '.min_free == null and .unit == "directory"'
ctl --json status | jq -e --arg id "$A" \
	'.[] | select(.id == $id) | .min_free == "5%" and .low_watermark == "80%" and .skip_open' \
	>/dev/null || fail "status --json lacks the keys: $(ctl --json status)"
ctl list >"$T/table" || fail "list (table)"
grep -q "min_free=5% free_target=2G low_watermark=80% skip_open=yes remove_empty_dirs=yes" \
	"$T/table" || fail "list table: $(cat "$T/table")"

# update: one key changes, the others stay; none resets
ctl update "$B" --low-watermark 70% --skip-open || fail "update $B"
ctl update "$A" --min-free none --free-target none --no-remove-empty-dirs || fail "update $A"
ctl --json list >"$T/list1"
chk "$B" '.low_watermark == "70%" and .skip_open == true and .unit == "directory"'
chk "$A" '.min_free == null and .free_target == null and .remove_empty_dirs == false and
	.low_watermark == "80%"'
jq -S 'sort_by(.id)' "$T/list1" >"$T/before"

# --- restart: the stored registrations keep them ------------------------------
stop_daemon || fail "daemon did not stop cleanly"
restart_daemon
wait_until ctl_up || fail "control socket does not answer after restart"
ctl --json list | jq -S 'sort_by(.id)' >"$T/after"
cmp -s "$T/before" "$T/after" || fail "changed across the restart: $(diff "$T/before" "$T/after")"
echo "PASS"
