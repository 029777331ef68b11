#!/bin/sh
# Under a flood, event-path deletions are summarised in report files of
# about 10,000 files each, written in the background: several summaries
# within one second must all be kept (none replaces another), and together
# they list every file the event path deleted, each once.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip "jq missing"
D="$T/flood"
mkdir -p "$D"
write_config <<EOC
[cleanup "flood"]
directory = $D
max_files = 10
EOC
start_daemon
# 25,000 creates in a few big batches: the limit is broken 24,990 times
(cd "$D" && seq -f 'f%05g.log' 1 25000 | xargs touch)
wait_until count_is "$D" 10 || fail "flood not brought back to 10: $(count_entries "$D") left"
stop_daemon || fail "daemon did not stop cleanly"
R="$T/state/reports"
n=$(find "$R" -name 'report-*.json' | wc -l)
[ "$n" -ge 3 ] || fail "expected at least 3 event summaries, found $n"
# every summary is whole JSON, written for the event path
for f in "$R"/report-*.json; do
	jq -e '.trigger == "events"' "$f" >/dev/null ||
		fail "bad summary $f: $(head -c 300 "$f")"
done
jq -r '.files[] | select(.outcome == "deleted") | .path' "$R"/report-*.json | sort >"$T/listed"
[ "$(wc -l <"$T/listed")" -eq 24990 ] || fail "summaries list $(wc -l <"$T/listed") deletions, expected 24990"
[ -z "$(uniq -d "$T/listed")" ] || fail "a deletion is listed twice"
# and they are the files that are gone: the 10 newest remain
(cd "$D" && ls -1 | sed "s|^|$D/|") | sort >"$T/left"
[ -z "$(comm -12 "$T/listed" "$T/left")" ] || fail "a listed file still exists"
exit 0
