#!/bin/sh
# low_watermark (SPEC 5, issue 19): once max_files is exceeded the set is
# trimmed to low_watermark% of it, in one batch: 101 files with
# max_files = 100 and low_watermark = 80% end at the newest 80, by --once
# (dry run and real: a sweep) and on file events in a running daemon; files
# created one at a time up to the limit delete nothing; after a restart a
# set over the limit is trimmed to 80, one between 80 and 100 is left.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
W="$T/once"
E="$T/events"
mkdir -p "$W" "$E"
now=$(date +%s)
# mkf DIR FIRST LAST: files f001.log... one minute apart, the first oldest
mkf() {
	for i in $(seq "$2" "$3"); do
		f=$(printf '%s/f%03d.log' "$1" "$i")
		echo "data $i" >"$f"
		touch -d "@$((now - 20000 + i * 60))" "$f"
	done
}
# wm_conf NAME DIR [KEY = VALUE]: the config of one registration, max_files
# 100 at 80%, on stdout ([scheduler] lines come from $SCHED)
wm_conf() {
	printf '[scheduler]\nhousekeeper_schedule = 0 3 1 1 *\n%s\n\n' "${SCHED:-}"
	printf '[cleanup "%s"]\ndirectory = %s\nmax_files = 100\nlow_watermark = 80%%\n%s\n' \
		"$1" "$2" "${3:-}"
}
newest() { # DIR FIRST LAST: the names f FIRST..LAST
	for i in $(seq "$2" "$3"); do printf 'f%03d.log\n' "$i"; done
}

# --- a sweep: --once --dry-run reports 21, --once deletes them ---------------
mkf "$W" 1 101
wm_conf once "$W" | write_config
"$HKD" --once --dry-run -c "$T/hk.conf" -S "$T/state" >"$T/dry" || fail "dry run: $(cat "$T/dry")"
count_is "$W" 101 || fail "the dry run deleted files"
n=$(grep -c '^would-delete' "$T/dry" || true)
[ "$n" -eq 21 ] || fail "dry run: $n files would go, expected 21: $(cat "$T/dry")"
grep '^would-delete' "$T/dry" | grep -qv ' count ' && fail "reason not count: $(cat "$T/dry")"
"$HKD" --once -c "$T/hk.conf" -S "$T/state" >"$T/real" || fail "--once: $(cat "$T/real")"
[ "$(names "$W")" = "$(newest "$W" 22 101)" ] || fail "--once left $(count_entries "$W"): $(names "$W")"

# --- the event path ----------------------------------------------------------
rm -rf "$T/state"
S="$T/ctl.sock"
wm_conf events "$E" >"$T/wm.conf"
ctl_daemon <"$T/wm.conf"
ID=$(ctl --json list | jq -r '.[0].id')
files_are() { [ "$(ctl --json status | jq -r '.[0].files')" = "$1" ]; }
# fill FIRST LAST: files FIRST..LAST-1 one at a time up to the limit delete
# nothing; file LAST exceeds it: down to the newest 80
fill() {
	mkf "$E" "$1" "$(($2 - 1))"
	wait_until files_are 100 || fail "up to f$(($2 - 1)): $(ctl --json status)"
	sleep 1
	count_is "$E" 100 || fail "files deleted below the limit: $(count_entries "$E") left"
	mkf "$E" "$2" "$2"
	wait_until count_is "$E" 80 || fail "f$2: $(count_entries "$E") left, expected 80"
	sleep 0.5
	[ "$(names "$E")" = "$(newest "$E" $(($2 - 79)) "$2")" ] || fail "survivors: $(names "$E")"
}
fill 1 101
ctl --json audit --id "$ID" >"$T/audit" || fail "audit"
[ "$(jq '[.records[]? // .[]? | select(.reason == "count")] | length' "$T/audit")" -eq 21 ] ||
	fail "audit: $(cat "$T/audit")"
fill 102 122   # and again

# --- a restart ----------------------------------------------------------------
# the trim under way is not kept across a restart (policy.h): a set over the
# limit at start is trimmed to the target; one left between the target and
# the limit waits for the limit to be exceeded again
stop_daemon || fail "daemon did not stop cleanly"
mkf "$E" 123 152   # 80 + 30 = 110 files while it is down
start_daemon
wait_until count_is "$E" 80 || fail "after a restart over the limit: $(count_entries "$E") left, expected 80"
stop_daemon || fail "daemon did not stop cleanly"
mkf "$E" 153 162   # 90: between the target and the limit
start_daemon
wait_until files_are 90 || fail "after a restart below the limit: $(ctl --json status)"
sleep 1
count_is "$E" 90 || fail "a restart below the limit trimmed: $(count_entries "$E") left"

# --- explain, in dry-run mode (nothing deleted on events) ---------------------
stop_daemon || fail "daemon did not stop cleanly"
X="$T/explain"
mkdir -p "$X"
mkf "$X" 1 101
rm -rf "$T/state"
: >"$HK_LOG"
SCHED="housekeeper_dry_run = true" wm_conf explain "$X" "max_size = 1M" >"$T/wm.conf"
ctl_daemon <"$T/wm.conf"
wait_until files_are 101 || fail "explain: not indexed: $(ctl --json status)"
reason_of() { ctl --json explain "$X/$1" | jq -r '.registrations[0].reason'; }
[ "$(reason_of f021.log)" = count ] || fail "explain f021: $(ctl --json explain "$X/f021.log")"
ctl --json explain "$X/f021.log" | jq -e '.registrations[0].note | test("low_watermark 80%")' \
	>/dev/null || fail "explain note: $(ctl --json explain "$X/f021.log")"
[ "$(reason_of f022.log)" = null ] || fail "explain f022: $(ctl --json explain "$X/f022.log")"
ctl --json run --dry-run >"$T/dryrun" || fail "run --dry-run: $(cat "$T/dryrun")"
[ "$(jq '[.files[] | select(.reason == "count")] | length' "$T/dryrun")" -eq 21 ] ||
	fail "run --dry-run: $(jq -c '.totals' "$T/dryrun")"
count_is "$X" 101 || fail "dry-run mode deleted files"
exit 0
