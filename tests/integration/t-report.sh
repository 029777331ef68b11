#!/bin/sh
# Every job writes one JSON report (atomically, in <state>/reports) whose
# files are exactly what the job deleted; a dry run's report lists exactly
# what the following real run deletes.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
D="$T/data"
mkdir -p "$D"
now=$(date +%s)
for i in $(seq 1 9); do
	echo "$i" >"$D/old$i.tmp"
	touch -d "@$((now - 86400 * 3 - i))" "$D/old$i.tmp"
done
echo fresh >"$D/fresh.tmp"
# dry-run mode first, so the event path leaves the files for the runs
config() {
	cat <<EOC
[scheduler]
housekeeper_dry_run = $1

[cleanup "old"]
directory = $D
retention = 2d
EOC
}
config yes | write_config
start_daemon
S="$T/state/housekeeper.sock"
wait_until test -S "$S" || fail "no control socket"
ctl() { "$HKCTL" -s "$S" "$@"; }
ctl --json run --dry-run >"$T/dry.json" || fail "dry run"
config no >"$T/hk.conf"
ctl reload >/dev/null || fail "reload"
# the reload lets the event path act: wait for it, then a real sweep
wait_until count_is "$D" 1 || fail "age limit not enforced after reload: $(names "$D")"
ctl --json run >"$T/real.json" || fail "run"
R="$T/state/reports"
n=$(find "$R" -name 'report-*.json' | wc -l)
[ "$n" -ge 2 ] || fail "expected at least 2 report files, found $n"
dry=$(ls "$R"/report-*.json | head -n 1)
jq -e '.dry_run == true and .outcome == "ok"' "$dry" >/dev/null || fail "first report is not the dry run: $(cat "$dry")"
jq -r '.files[] | select(.outcome == "would-delete") | .path' "$dry" | sort >"$T/dry-list"
[ "$(wc -l <"$T/dry-list")" -eq 9 ] || fail "dry run report lists $(wc -l <"$T/dry-list") files, expected 9"
# what was deleted: the audit trail (event path after the reload) must be
# exactly the dry run's list
ctl --json audit --all | jq -r '.[] | select(.result == "deleted") | .path' | sort >"$T/deleted"
cmp -s "$T/dry-list" "$T/deleted" || fail "dry run and deletions differ: $(diff "$T/dry-list" "$T/deleted")"
# the report file equals the JSON the CLI got
jq -S 'del(.outcome, .registration_filter)' "$dry" >"$T/a"
jq -S 'del(.outcome, .registration_filter, .report_file)' "$T/dry.json" >"$T/b"
cmp -s "$T/a" "$T/b" || fail "report file differs from the run's answer"
# ... and the answer names the file
[ "$(jq -r '.report_file // .report.report_file' "$T/dry.json")" = "$dry" ] ||
	fail "the run's answer does not name its report file $dry"
# no temp files left behind, mode 0600
[ -z "$(find "$R" -name '*.tmp*')" ] || fail "temp files left in $R"
[ "$(stat -c %a "$dry")" = 600 ] || fail "report mode $(stat -c %a "$dry")"
exit 0
