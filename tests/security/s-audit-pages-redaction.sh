#!/bin/bash
# Paged audit for a non-root caller (issue 15, finding 5, with SPEC 9's
# redaction): every page holds only the caller's records, the first page
# is not empty while thousands of root's records come before them, and
# following the cursors gives each of its records once; a cursor of root's
# query shows nothing of root's either.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
command -v setpriv >/dev/null 2>&1 || skip "needs setpriv"

UA=hk-sec-a
sec_user "$UA"
CTLG=$(sec_group hk-sec-ctl)
SOCK="$T/run/ctl.sock"
R="$T/root-logs"
AD="$T/a-logs"
chmod 755 "$T"
mkdir -m 700 "$R"
mkdir -m 755 "$AD"
chown "$UA:" "$AD"
mkmany() { python3 -c 'import os, sys
for i in range(int(sys.argv[3])):
    os.close(os.open(os.path.join(sys.argv[1], "%s%05d.log" % (sys.argv[2], i)), os.O_CREAT | os.O_WRONLY, 0o644))' "$@"; }
# 3,000 of root's files are deleted at start: their records come first
mkmany "$R" secret-early- 3000
write_config <<EOC
[daemon]
control_socket = $SOCK
control_group = hk-sec-ctl

[cleanup "root-secret"]
directory = $R
max_files = 0
$(sec_canary_conf)
EOC
start_daemon
wait_until test -S "$SOCK" || fail "control socket not created"
ctl() { "$HKCTL" -s "$SOCK" "$@"; }
actl() { sec_as "$UA" "$CTLG" "$HKCTL" -s "$SOCK" "$@"; }
n_audit() { ctl --json audit --all | jq length; }
HK_WAIT=60 wait_until count_is "$R" 0 || fail "root's files not deleted"
ID_A=$(actl register "$AD" --max-files 0) || fail "$UA: register $AD"
sec_as "$UA" "$CTLG" sh -c 'for i in $(seq 10 34); do : >"$1/a-$i.log"; done' sh "$AD" ||
	fail "$UA: files"
wait_until count_is "$AD" 0 || fail "$UA's files not deleted"
# and more of root's after them
mkmany "$R" secret-late- 2000
HK_WAIT=60 wait_until count_is "$R" 0 || fail "root's late files not deleted"
wait_until sh -c '[ "$("$1" -s "$2" --json audit --all | jq "[.[] | select(.path | contains(\"/secret-\"))] | length")" -eq 5000 ]' _ \
	"$HKCTL" "$SOCK" || fail "root's records: $(n_audit)"
wait_until sh -c '[ "$("$1" -s "$2" --json audit --all --id "$3" | jq length)" -eq 25 ]' _ \
	"$HKCTL" "$SOCK" "$ID_A" || fail "$UA's records missing"

# the first page, default size: all 25 of A's, none of root's, no cursor
out=$(actl --json audit) || fail "$UA: audit"
printf '%s' "$out" | jq -e --arg d "$AD/" '(.records | length) == 25 and
	all(.records[]; .path | startswith($d)) and .next_cursor == null' >/dev/null ||
	sec_fail_later "$UA: first page: $(printf '%s' "$out" | jq -c '{n: (.records | length), next_cursor, first: .records[0].path}')"
# pages of 10: only A's records, each once
: >"$T/a.paths"
cur=
for i in 1 2 3 4 5 6; do
	out=$(actl --json audit --limit 10 ${cur:+--cursor "$cur"}) || fail "$UA: audit page $i"
	printf '%s' "$out" | jq -r '.records[].path' >>"$T/a.paths"
	cur=$(printf '%s' "$out" | jq -r '.next_cursor // empty')
	[ -n "$cur" ] || break
done
[ "$i" -eq 3 ] || sec_fail_later "$UA: $i pages of 10 for 25 records"
grep -v "^$AD/a-[0-9][0-9].log\$" "$T/a.paths" | head -3 | grep . &&
	sec_fail_later "$UA: pages show others' records"
[ "$(sort -u "$T/a.paths" | wc -l)" -eq 25 ] && [ "$(wc -l <"$T/a.paths")" -eq 25 ] ||
	sec_fail_later "$UA: $(wc -l <"$T/a.paths") records over the pages, $(sort -u "$T/a.paths" | wc -l) distinct"
# a cursor taken from root's query: still only A's records
rcur=$(ctl --json audit --limit 100 | jq -r .next_cursor)
out=$(actl --json audit --cursor "$rcur") || fail "$UA: audit with root's cursor"
printf '%s' "$out" | grep -q "$R" && sec_fail_later "$UA: root's cursor shows root's records"
printf '%s' "$out" | jq -e '(.records | length) == 25' >/dev/null ||
	sec_fail_later "$UA: with root's cursor: $(printf '%s' "$out" | jq '.records | length') records"
# root still sees everything, in pages
[ "$(ctl --json audit | jq '.records | length')" -eq 1000 ] || fail "root's first page"
sec_probe
sec_finish
