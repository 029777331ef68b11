#!/bin/sh
# Names wherever ids are, and explain in plain words (issue 18): run,
# audit, explain and jobs take and show a registration's name; an unknown
# one is an error that names what the user typed (audit --id too, not an
# empty trail with exit 0); explain says what happens to a file once, in
# words without internal field names, and a path that is not there exits 1.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
D="$T/logs"
mkdir -p "$D"
mkfiles "$D" f 5
touch -d '@1000000000' "$D/ancient.log"
ctl_daemon <<EOC
[cleanup "applogs"]
directory = $D
pattern = *.log
exclude = keep.log
retention = 30d
EOC
wait_until test ! -e "$D/ancient.log" || fail "the expired file stayed"

# an unknown name: the message names what was typed, exit 1
for cmd in "run nosuch" "run nosuch --dry-run" "audit --id nosuch" "remove nosuch"; do
	rc=0
	# shellcheck disable=SC2086
	ctl $cmd >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" -eq 1 ] || fail "'$cmd': exit $rc, expected 1 (out: $(cat "$T/out"))"
	grep -q "'nosuch'" "$T/err" || fail "'$cmd' does not name what was typed: $(cat "$T/err")"
	grep -q "with id" "$T/err" && fail "'$cmd' calls the name an id: $(cat "$T/err")"
	[ -s "$T/out" ] && fail "'$cmd' printed on stdout: $(cat "$T/out")"
done
rc=0; ctl audit --id 00000000-0000-4000-8000-000000000000 >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "audit --id of an id nobody had: exit $rc"

# names accepted: run and audit by name
ctl run applogs --dry-run >/dev/null || fail "run by name"
ctl --json audit --all --id applogs >"$T/audit" || fail "audit --id NAME"
jq -e 'length >= 1 and all(.[]; .registration_name == "applogs")' "$T/audit" >/dev/null ||
	fail "audit records lack the name: $(cat "$T/audit")"
ctl audit --id applogs >"$T/audit.txt" || fail "audit table"
grep -q "applogs" "$T/audit.txt" || fail "audit table shows no name: $(cat "$T/audit.txt")"
ID=$(jq -r '.[0].registration_id' "$T/audit")
grep -q "$ID" "$T/audit.txt" && fail "audit table shows the id, not the name: $(cat "$T/audit.txt")"
ctl --json jobs | jq -e 'any(.[]; .registration_name == "applogs")' >/dev/null ||
	fail "jobs lack the name: $(ctl --json jobs)"
ctl jobs | grep -q applogs || fail "jobs table shows no name: $(ctl jobs)"

# explain: names, plain words, said once
ctl --json explain "$D/f003.log" | jq -e '.registrations[0].name == "applogs"' >/dev/null ||
	fail "explain --json lacks the name"
ctl explain "$D/f003.log" >"$T/x" || fail "explain"
grep -q "applogs" "$T/x" || fail "explain shows no name: $(cat "$T/x")"
grep -Eq "delete_at|rank_newest|indexed|age_key" "$T/x" && fail "explain shows field names: $(cat "$T/x")"
grep -q "kept for now" "$T/x" || fail "explain does not say the file is kept: $(cat "$T/x")"
grep -Eq "reaches the age limit in (29|30)d" "$T/x" || fail "explain does not say when: $(cat "$T/x")"
[ "$(grep -c "kept" "$T/x")" -eq 1 ] || fail "explain repeats itself: $(cat "$T/x")"
touch "$D/keep.log" "$D/other.txt"
ctl explain "$D/keep.log" | grep -q "exclude glob matches it: never deleted" ||
	fail "explain of an excluded file: $(ctl explain "$D/keep.log")"
ctl explain "$D/other.txt" | grep -q "does not match the pattern" ||
	fail "explain of a file the pattern misses: $(ctl explain "$D/other.txt")"
# relative paths, ./ and ../ too
(cd "$D" && "$HKCTL" -s "$S" explain ./f003.log) | grep -q "applogs" || fail "explain ./f003.log"
(cd "$D" && "$HKCTL" -s "$S" explain ../logs/f003.log) | grep -q "applogs" || fail "explain ../logs/..."
# a path that is not there: exit 1, said on stderr
rc=0; ctl explain "$D/not-there.log" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] || fail "explain of a missing path: exit $rc"
grep -q "not-there.log: No such file" "$T/err" || fail "explain missing: $(cat "$T/err")"
exit 0
