#!/bin/sh
# A crash between renaming a file aside and unlinking it (reap.c) leaves
# .housekeeper-deleting-*: the next real scan finishes that deletion
# through the safe path; a dry run never touches it; a symlink or a
# directory with that name is never removed.
. "$(dirname "$0")/lib.sh"
D="$T/logs"
OUT="$T/outside"
mkdir -p "$D" "$OUT" "$D/.housekeeper-deleting-dir"
echo secret >"$OUT/target"
echo leftover >"$D/.housekeeper-deleting-0123456789abcdef"
ln -s "$OUT/target" "$D/.housekeeper-deleting-link"
echo keep >"$D/keep.log"
printf '[cleanup "i"]\ndirectory = %s\npattern = *.log\nmax_files = 10\n' "$D" | write_config
"$HKD" --once --dry-run -c "$T/hk.conf" -S "$T/state" >/dev/null || fail "dry run"
[ -e "$D/.housekeeper-deleting-0123456789abcdef" ] || fail "a dry run removed the leftover"
start_daemon
wait_until test ! -e "$D/.housekeeper-deleting-0123456789abcdef" || fail "leftover not removed"
[ -L "$D/.housekeeper-deleting-link" ] || fail "a symlink with the prefix was removed"
[ -d "$D/.housekeeper-deleting-dir" ] || fail "a directory with the prefix was removed"
[ "$(cat "$OUT/target")" = secret ] || fail "symlink target touched"
[ -e "$D/keep.log" ] || fail "keep.log deleted"
exit 0
