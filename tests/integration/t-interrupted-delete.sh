#!/bin/sh
# A crash between renaming a file aside and unlinking it (reap.c) leaves
# .housekeeper-deleting-*, its audit intent open: the next real run
# finishes exactly that deletion through the safe path and records it; a
# dry run never touches it; a name with that prefix that no intent names,
# a symlink or a directory with that name, is never removed.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
crash_shim
D="$T/logs"
OUT="$T/outside"
mkdir -p "$D" "$OUT" "$D/.housekeeper-deleting-dir"
echo secret >"$OUT/target"
echo planted >"$D/.housekeeper-deleting-0123456789abcdef"
ln -s "$OUT/target" "$D/.housekeeper-deleting-link"
echo old >"$D/old.log"
touch -d '2001-01-01' "$D/old.log"
ino=$(stat -c %i "$D/old.log")
echo keep >"$D/keep.log"
printf '[cleanup "i"]\ndirectory = %s\npattern = *.log\nmax_files = 1\n' "$D" | write_config
crash_once "$T/hk.conf" "$T/state"
left=$(find "$D" -maxdepth 1 -type f -name '.housekeeper-deleting-*' -inum "$ino")
[ -n "$left" ] || fail "no leftover of old.log after the crash: $(ls -A "$D")"
"$HKD" --once --dry-run -c "$T/hk.conf" -S "$T/state" >/dev/null || fail "dry run"
[ -e "$left" ] || fail "a dry run finished the interrupted deletion"
start_daemon
wait_until test ! -e "$left" || fail "the interrupted deletion was not finished"
[ -e "$D/.housekeeper-deleting-0123456789abcdef" ] || fail "a leftover no intent names was removed"
[ -L "$D/.housekeeper-deleting-link" ] || fail "a symlink with the prefix was removed"
[ -d "$D/.housekeeper-deleting-dir" ] || fail "a directory with the prefix was removed"
[ "$(cat "$OUT/target")" = secret ] || fail "symlink target touched"
[ -e "$D/keep.log" ] || fail "keep.log deleted"
wait_for_log "finished a deletion a crash interrupted" || fail "finishing not logged"
"$HKCTL" -s "$T/state/housekeeper.sock" --json audit --all >"$T/audit.json" || fail "audit"
jq -e --arg p "$D/old.log" '[.[] | select(.path == $p and .result == "deleted")] | length == 1' \
	"$T/audit.json" >/dev/null || fail "no audit record of old.log: $(cat "$T/audit.json")"
exit 0
