#!/bin/sh
# `housekeeperctl run` of every registration sweeps every one of them, more
# than housekeeper_concurrent_cleanups (3) included: each deletes its
# expired files and the report lists all 7 (it used to stop after the
# first 3 and end "busy" with exit 0).
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
now=$(date +%s)
{
	printf '[scheduler]\nhousekeeper_concurrent_cleanups = 3\nhousekeeper_dry_run = yes\n'
	for i in 1 2 3 4 5 6 7; do
		mkdir -p "$T/d$i"
		for f in a b c; do
			echo x >"$T/d$i/$f.tmp"
			touch -d "@$((now - 86400 * 5))" "$T/d$i/$f.tmp"
		done
		echo fresh >"$T/d$i/fresh.tmp"
		printf '[cleanup "r%s"]\ndirectory = %s\nretention = 2d\n' "$i" "$T/d$i"
	done
} >"$T/hk.conf"
start_daemon
S="$T/state/housekeeper.sock"
wait_until test -S "$S" || fail "no control socket"
ctl() { "$HKCTL" -s "$S" "$@"; }
# a dry run first (dry-run mode keeps the event path off the files)
ctl --json run --dry-run >"$T/dry.json" || fail "dry run failed: $(cat "$T/dry.json")"
n=$(jq '.registrations | length' "$T/dry.json")
[ "$n" = 7 ] || fail "dry run report covers $n registrations, expected 7: $(jq -c '.registrations | map(.directory)' "$T/dry.json")"
w=$(jq '[.files[] | select(.outcome == "would-delete")] | length' "$T/dry.json")
[ "$w" = 21 ] || fail "dry run would delete $w files, expected 21"
jq -e '.outcome == "ok"' "$T/dry.json" >/dev/null || fail "dry run outcome $(jq -r .outcome "$T/dry.json")"
# then for real
sed -i 's/housekeeper_dry_run = yes/housekeeper_dry_run = no/' "$T/hk.conf"
ctl reload >/dev/null || fail "reload"
rc=0
ctl --json run >"$T/real.json" || rc=$?
[ "$rc" = 0 ] || fail "run exited $rc: $(cat "$T/real.json")"
n=$(jq '.registrations | length' "$T/real.json")
[ "$n" = 7 ] || fail "run report covers $n registrations, expected 7"
jq -e '.outcome == "ok"' "$T/real.json" >/dev/null || fail "run outcome $(jq -r .outcome "$T/real.json")"
for i in 1 2 3 4 5 6 7; do
	[ "$(names "$T/d$i")" = fresh.tmp ] || fail "d$i not cleaned: $(names "$T/d$i")"
done
exit 0
