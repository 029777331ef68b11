#!/bin/sh
# housekeeperctl --json for scripts (issue 18): every error is a JSON
# object {"error": {...}} on stdout with the exit code of text mode (2
# usage, 1 the daemon's, 3 not reachable); times are integer epoch seconds
# in every command (run reports too), null when unset, as unset limits;
# metrics are a structure with housekeeper_build_info and registrations
# labelled by name.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
D="$T/logs"
mkdir -p "$D"
mkfiles "$D" f 6
# a dry-run daemon: the files stay for the reports to list them
ctl_daemon <<EOC
[scheduler]
housekeeper_dry_run = yes

[cleanup "applogs"]
directory = $D
max_files = 10
EOC

# errors: an object on stdout, the text on stderr, the same exit codes
jerr() {   # jerr EXIT ARGS...: --json ARGS exits EXIT with an error object
	want=$1; shift
	rc=0; ctl --json "$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq "$want" ] || fail "--json $*: exit $rc, expected $want"
	[ -s "$T/out" ] || fail "--json $*: nothing on stdout"
	jq -e '.error | type == "object" and (.code | type == "number") and
		(.message | type == "string") and (.name | type == "string")' "$T/out" >/dev/null ||
		fail "--json $*: no error object on stdout: $(cat "$T/out")"
	[ -s "$T/err" ] || fail "--json $*: nothing on stderr"
	rc=0; ctl "$@" >"$T/out.text" 2>/dev/null || rc=$?
	[ "$rc" -eq "$want" ] || fail "$* (text mode): exit $rc, expected $want as with --json"
}
jerr 2 run --bogus
jerr 2 bogus-command
jerr 2 help nosuch
jerr 2 register "$D" --retention 30
jerr 2 explain
jerr 1 remove nosuch
jerr 1 run nosuch
jerr 1 register /etc
jerr 1 explain "$T/not-there.log"
rc=0; "$HKCTL" -s "$T/absent.sock" --json list >"$T/out" 2>/dev/null || rc=$?
[ "$rc" -eq 3 ] || fail "unreachable: exit $rc"
jq -e '.error.name == "unreachable"' "$T/out" >/dev/null || fail "unreachable: $(cat "$T/out")"
# global options before the command count too
rc=0; ctl --json --nope list >"$T/out" 2>/dev/null || rc=$?
[ "$rc" -eq 2 ] && jq -e '.error.name == "usage"' "$T/out" >/dev/null ||
	fail "--json --nope: exit $rc, $(cat "$T/out")"

# times: null while unset, integers once set
ctl --json list >"$T/list" || fail "list"
jq -e '.[0].last_run == null and (.[0].created_at == null or (.[0].created_at | type) == "number")
	and .[0].retention == null and .[0].max_size == null' "$T/list" >/dev/null ||
	fail "list: unset times are not null: $(cat "$T/list")"
ctl --json status | jq -e '.[0].last_run == null and .[0].last_success == null' >/dev/null ||
	fail "status: unset times are not null: $(ctl --json status)"
ctl --json run --dry-run >"$T/run" || fail "run --dry-run"
isint='type == "number" and . == floor'
jq -e "(.started | $isint) and (.finished | $isint) and .started > 1000000000" "$T/run" >/dev/null ||
	fail "run report times are not integer seconds: $(jq '{started, finished}' "$T/run")"
ID=$(ctl --json register "$D" --pattern 'f*' --retention 30m | jq -r .id)
ctl --json run "$ID" --dry-run >"$T/run2" || fail "run of the api registration"
jq -e "(.files | length) > 0 and all(.files[]; .mtime | $isint)" "$T/run2" >/dev/null ||
	fail "report files' mtime not integer seconds: $(jq '.files[0]' "$T/run2")"
rf=$(jq -r .report_file "$T/run2")
[ -f "$rf" ] && jq -e "(.started | $isint) and all(.files[]; .mtime | $isint)" "$rf" >/dev/null ||
	fail "the report file's times are not integer seconds: $rf"
ctl run "$ID" >/dev/null || fail "run"
ctl --json list | jq -e --arg id "$ID" ".[] | select(.id == \$id) | (.last_run | $isint) and
	(.created_at | $isint) and (.updated_at | $isint)" >/dev/null || fail "last_run after a run"
ctl --json jobs | jq -e "all(.[]; (.queued | $isint) and (.started | $isint) and (.finished | $isint))" \
	>/dev/null || fail "job times"
ctl --json audit --all | jq -e "length > 0 and all(.[]; (.time | $isint) and (.mtime | $isint))" \
	>/dev/null || fail "audit times"

# metrics: families, not one string
ctl --json metrics >"$T/m" || fail "metrics --json"
jq -e 'type == "array" and all(.[]; (.name | type) == "string" and (.samples | type) == "array")' \
	"$T/m" >/dev/null || fail "metrics --json is not a list of families: $(head -c 300 "$T/m")"
jq -e '.[] | select(.name == "housekeeper_build_info") | .type == "gauge" and
	.samples[0].value == 1 and (.samples[0].labels.version | type) == "string"' "$T/m" >/dev/null ||
	fail "no housekeeper_build_info"
jq -e '.[] | select(.name == "housekeeper_directory_files") | any(.samples[];
	.labels.registration == "applogs")' "$T/m" >/dev/null ||
	fail "registration labels are not names: $(jq -c '.[] | select(.name == "housekeeper_directory_files")' "$T/m")"
ctl metrics | grep -Eq '^housekeeper_build_info\{version="[^"]+",protocol="[0-9]+"\} 1$' ||
	fail "build_info in the text"
exit 0
