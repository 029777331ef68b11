#!/bin/bash
# Attack: files planted under the daemon's private deletion name
# (.housekeeper-deleting-<16 hex>, reap.c). Before, every scan deleted any
# file so named, whatever the pattern and excludes, in dry runs too, with
# no audit record: a user could make root delete a file no registration
# selects. Expected: such a name is finished only when an open audit
# intent left by a crash names exactly that private name with that inode;
# never in a dry run; any other is kept and not indexed, and said once in
# the log.
#   - a planted name that does not match the pattern, and one matching an
#     exclude, survive --once --dry-run, a real --once, a running daemon,
#     its manual dry and real runs;
#   - an interrupted deletion whose leftover was swapped for another file
#     under the same private name (another inode) is kept;
#   - positive control: a real interrupted deletion (the crash shim kills
#     --once between the rename and the unlink) survives a dry run and is
#     then finished by the daemon, with its audit record "deleted"; the
#     registrations' ordinary expired files are deleted.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
crash_shim

P=.housekeeper-deleting-0123456789abcdef
NOMATCH="$T/nomatch"      # pattern *.log: the planted name does not match
EXCL="$T/excluded"        # pattern *, exclude .housekeeper-*: excluded
CRASH="$T/crash"          # a real interrupted deletion
SWAP="$T/swap"            # an interrupted deletion whose leftover is swapped
mkdir -p "$NOMATCH" "$EXCL" "$CRASH" "$SWAP"
echo "planted by a user" >"$NOMATCH/$P"
echo "planted by a user" >"$EXCL/$P"
touch -d 2001-01-01 "$NOMATCH/$P" "$EXCL/$P"
for d in "$CRASH" "$SWAP"; do
	echo old >"$d/old.log"
	touch -d 2001-01-01 "$d/old.log"
	echo new >"$d/new.log"
done
crash_ino=$(stat -c %i "$CRASH/old.log")
swap_ino=$(stat -c %i "$SWAP/old.log")

conf_one() {   # conf_one NAME DIR: one registration keeping the newest .log
	printf '[cleanup "%s"]\ndirectory = %s\npattern = *.log\nmax_files = 1\n' "$1" "$2"
}
conf_one crash "$CRASH" >"$T/crash.conf"
conf_one swap "$SWAP" >"$T/swap.conf"
crash_once "$T/crash.conf" "$T/state"
crash_once "$T/swap.conf" "$T/state"
left=$(find "$CRASH" -maxdepth 1 -type f -inum "$crash_ino" -name '.housekeeper-deleting-*')
[ -n "$left" ] || fail "no leftover after the crash in $CRASH: $(ls -A "$CRASH")"
swapped=$(find "$SWAP" -maxdepth 1 -type f -inum "$swap_ino" -name '.housekeeper-deleting-*')
[ -n "$swapped" ] || fail "no leftover after the crash in $SWAP: $(ls -A "$SWAP")"
# a forged private name beside the real leftover, no intent naming it
echo "forged: no intent" >"$CRASH/.housekeeper-deleting-fedcba9876543210"
touch -d 2001-01-01 "$CRASH/.housekeeper-deleting-fedcba9876543210"
# the user swaps the leftover for a file of its own under the same name
rm -f "$swapped"
echo "another file" >"$swapped"
touch -d 2001-01-01 "$swapped"

write_config <<EOC
$(conf_one crash "$CRASH")

[cleanup "nomatch"]
directory = $NOMATCH
pattern = *.log
max_files = 0

[cleanup "excluded"]
directory = $EXCL
exclude = .housekeeper-*
max_files = 0

$(conf_one swap "$SWAP")
$(sec_canary_conf)
EOC
# controls: ordinary expired files in the same directories
controls() {
	echo x >"$NOMATCH/a.log"
	echo x >"$EXCL/victim"
	touch -d 2001-01-01 "$NOMATCH/a.log" "$EXCL/victim"
}
keep_all() {
	[ -e "$NOMATCH/$P" ] || sec_fail_later "$1: the planted $NOMATCH/$P (no match) was removed"
	[ -e "$EXCL/$P" ] || sec_fail_later "$1: the planted $EXCL/$P (excluded) was removed"
	[ -e "$CRASH/.housekeeper-deleting-fedcba9876543210" ] ||
		sec_fail_later "$1: a private name no intent names was removed"
	[ -e "$swapped" ] && [ "$(cat "$swapped")" = "another file" ] ||
		sec_fail_later "$1: the file swapped in under a leftover's name was removed"
}

controls
"$HKD" --once --dry-run -c "$T/hk.conf" -S "$T/state" >"$T/dry.out" 2>"$T/dry.err" ||
	fail "--once --dry-run: $(tail -3 "$T/dry.err")"
keep_all "--once --dry-run"
[ -e "$left" ] || sec_fail_later "--once --dry-run finished the interrupted deletion"
grep -q housekeeper-deleting "$T/dry.out" &&
	sec_fail_later "--once --dry-run would delete a private name: $(grep housekeeper-deleting "$T/dry.out")"
grep -q "$NOMATCH/a.log" "$T/dry.out" || sec_fail_later "control: the dry run does not list a.log"

# a real --once on another state: no intent there, so nothing to finish
sec_once "$T/once.out" || true
keep_all "--once (another state)"
[ -e "$left" ] || sec_fail_later "--once without the intent finished the interrupted deletion"
[ ! -e "$NOMATCH/a.log" ] || sec_fail_later "control: --once did not delete a.log"
controls

start_daemon
wait_until test ! -e "$left" || sec_fail_later "the interrupted deletion was not finished"
wait_until test ! -e "$NOMATCH/a.log" || sec_fail_later "control: $NOMATCH/a.log not deleted"
wait_until test ! -e "$EXCL/victim" || sec_fail_later "control: $EXCL/victim not deleted"
sec_probe
S="$T/state/housekeeper.sock"
"$HKCTL" -s "$S" run --dry-run >/dev/null 2>&1 || sec_fail_later "manual dry run"
"$HKCTL" -s "$S" run >/dev/null 2>&1 || sec_fail_later "manual run"
sec_probe
keep_all "running daemon"
grep -q "no record of an interrupted deletion names it" "$HK_LOG" ||
	sec_fail_later "the planted names are not logged"
"$HKCTL" -s "$S" --json audit --all >"$T/audit.json" || fail "audit"
jq -e --arg p "$CRASH/old.log" '[.[] | select(.path == $p and .result == "deleted")] | length == 1' \
	"$T/audit.json" >/dev/null || sec_fail_later "no audit record of the finished deletion"
jq -e '[.[] | select(.path | test("housekeeper-deleting"))] | length == 0' "$T/audit.json" \
	>/dev/null || sec_fail_later "a private name is in the audit trail"
stop_daemon || sec_fail_later "daemon did not stop cleanly"
sec_finish
