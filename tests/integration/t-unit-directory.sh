#!/bin/sh
# unit = directory: each matching subdirectory of the root is one unit,
# aged by its newest file (recursively), counted by max_files and deleted
# whole (files, then its directories bottom-up). Files directly in the
# root and non-matching subdirectories are never touched; a dry run
# removes nothing but reports the units' files; explain names the unit a
# file is in and judges the unit whole.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
D="$T/jobs"
mkdir -p "$D"
now=$(date +%s)
# job1, job2: expired (every file 3 days old); job3: a fresh file deep inside
for j in job1 job2 job3; do
	mkdir -p "$D/$j/out/logs"
	echo a >"$D/$j/a.txt"
	echo b >"$D/$j/out/logs/b.log"
	find "$D/$j" -exec touch -h -d "@$((now - 3 * 86400))" {} +
done
echo live >"$D/job3/out/logs/fresh.log"
mkdir -p "$D/other"
echo o >"$D/other/old.txt"
touch -d "@$((now - 9 * 86400))" "$D/other/old.txt" "$D/other"
echo r >"$D/job-root-file"
touch -d "@$((now - 9 * 86400))" "$D/job-root-file"
write_config <<EOC
[cleanup "jobs"]
directory = $D
pattern = job*
unit = directory
retention = 1d
EOC
# a dry run removes nothing but lists the units' files
"$HKD" --once --dry-run -c "$T/hk.conf" -S "$T/state" >"$T/dry" 2>"$T/dry.err" ||
	fail "dry run failed: $(cat "$T/dry.err")"
grep -q "job1/out/logs/b.log" "$T/dry" || fail "dry run does not report job1's files: $(cat "$T/dry")"
grep -q "job3" "$T/dry" && fail "dry run reports the live job3: $(cat "$T/dry")"
[ -e "$D/job1/out/logs/b.log" ] && [ -d "$D/job2/out" ] || fail "the dry run deleted something"

# explain, from a daemon in dry-run mode (it deletes nothing): a file deep
# in an expired unit, and the unit itself, name the unit and why it goes
# whole; a live unit's file is kept with its unit's rank and expiry; a file
# in the root or in a directory the pattern does not match is in no unit
S="$T/ctl.sock"
cp "$T/hk.conf" "$T/units.conf"
printf '\n[daemon]\ncontrol_socket = %s\n' "$S" >>"$T/hk.conf"
dry_daemon
wait_until sh -c "'$HKCTL' -s '$S' --json status | jq -e '.[0].files == 7' >/dev/null" ||
	fail "units not indexed: $(ctl --json status)"
x() { ctl --json explain "$D/$1" | jq -c '.registrations[0]'; }
x job1/out/logs/b.log | jq -e '.reason == "age" and .unit.name == "job1" and .unit.files == 2 and
	.unit.units == 3 and (.note | test("unit job1.*whole"))' >/dev/null ||
	fail "explain of a file in an expired unit: $(x job1/out/logs/b.log)"
x job1 | jq -e '.reason == "age" and .unit.name == "job1"' >/dev/null ||
	fail "explain of an expired unit: $(x job1)"
x job3/out/logs/fresh.log | jq -e '.reason == null and .unit.name == "job3" and
	.rank_newest == 1 and .delete_at != null' >/dev/null ||
	fail "explain of a file in the live unit: $(x job3/out/logs/fresh.log)"
x job-root-file | jq -e '.reason == null and .unit == null and (.note | test("not in a unit"))' \
	>/dev/null || fail "explain of a file in the root: $(x job-root-file)"
x other/old.txt | jq -e '.matches == false and .unit == null' >/dev/null ||
	fail "explain of a file in a non-matching directory: $(x other/old.txt)"
ctl explain "$D/job1/out/logs/b.log" | grep -q 'in unit job1 (2 files' ||
	fail "explain's text: $(ctl explain "$D/job1/out/logs/b.log")"
stop_daemon || fail "dry-run daemon exit status"
[ -e "$D/job1/out/logs/b.log" ] && [ -d "$D/job2/out" ] || fail "the dry-run daemon deleted something"
rm -f "$S"
ctl_daemon <"$T/units.conf"
wait_until test ! -e "$D/job2" || fail "expired job directories not removed: $(find "$D" | sort)"
[ ! -e "$D/job1" ] || fail "job1 not removed whole: $(find "$D/job1")"
for f in job3/a.txt job3/out/logs/b.log job3/out/logs/fresh.log other/old.txt job-root-file; do
	[ -e "$D/$f" ] || fail "$f deleted (live unit, non-matching directory or a root file)"
done
ctl audit --json >"$T/audit" || fail "audit failed"
grep -q 'job1/out/logs/b.log' "$T/audit" || fail "no audit record of job1's file"
grep -q 'job1/"' "$T/audit" || fail "no audit record of job1's directory: $(cat "$T/audit")"

# max_files counts units: 5 job directories, the newest 2 stay
stop_daemon
rm -rf "$D"/job*
for i in 1 2 3 4 5; do
	mkdir -p "$D/job$i/sub"
	echo "$i" >"$D/job$i/sub/f"
	echo "$i" >"$D/job$i/g"
	touch -d "@$((now - 1000 + i * 10))" "$D/job$i/sub/f" "$D/job$i/g"
done
# a unit's age is its newest file's: job2's deep file makes it the newest
touch -d "@$((now - 100))" "$D/job2/sub/f"
write_config <<EOC
[cleanup "jobs"]
directory = $D
pattern = job*
unit = directory
max_files = 2
EOC
cp "$T/hk.conf" "$T/units.conf"
ctl_daemon <"$T/units.conf"
wait_until test ! -e "$D/job4" || fail "max_files over units not enforced: $(ls "$D")"
sleep 0.3
[ "$(ls -d "$D"/job* | wc -l)" -eq 2 ] || fail "not 2 units left: $(ls "$D")"
[ -d "$D/job2" ] && [ -d "$D/job5" ] || fail "not the newest 2 units kept: $(ls "$D")"
# a new unit: the oldest of the kept goes (count on events)
mkdir "$D/job6"
echo n >"$D/job6/n"
wait_until test ! -e "$D/job5" || fail "a new unit did not trim the oldest: $(ls "$D")"
[ -d "$D/job2" ] && [ -d "$D/job6" ] || fail "wrong units kept: $(ls "$D")"
exit 0
