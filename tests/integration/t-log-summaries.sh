#!/bin/sh
# Deletions at the default log level (issue 18, point 1): one line per
# registration and batch, at most one a second per registration, naming the
# registration by its name, with the files and bytes deleted and why. A
# daemon deleting 2,000 files (1,500 by age, 500 by count) logs a bounded
# number of such lines whose totals are right, and no per-file line; at
# debug level (-v) the per-file lines are there too.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
D="$T/bulk"
mkdir -p "$D"
# 1,500 files two days old, 1,000 of the last hour; 1 KiB each
python3 - "$D" <<'EOP'
import os, sys, time
d = sys.argv[1]
now = time.time()
for i in range(2500):
    p = os.path.join(d, "f%05d.log" % i)
    with open(p, "wb") as f:
        f.write(b"x" * 1024)
    t = now - 2 * 86400 - 3000 + i if i < 1500 else now - 3600 + i
    os.utime(p, (t, t))
EOP
write_config <<EOC
[scheduler]
housekeeper_schedule = 0 3 1 1 *
housekeeper_report_enabled = false

[cleanup "bulk-logs"]
directory = $D
pattern = *.log
retention = 1d
max_files = 500
EOC
t0=$(date +%s)
"$HKD" -f -c "$T/hk.conf" -S "$T/state" >>"$HK_LOG" 2>&1 &
HK_PID=$!
wait_for_log "started" || fail "daemon did not start"
wait_until count_is "$D" 500 || fail "not trimmed to 500: $(count_entries "$D") left"
t1=$(date +%s)
sleep 1.5   # the last second's line comes when that second is over
lines=$(grep -c 'bulk-logs: deleted' "$HK_LOG" || true)
[ "$lines" -ge 1 ] || fail "no summary line at the default level"
# at most one a second (plus the first and the last second's)
[ "$lines" -le $((t1 - t0 + 2)) ] || fail "$lines summary lines in $((t1 - t0)) s"
grep 'bulk-logs: deleted' "$HK_LOG" | python3 -c "
import re, sys
files = age = count = 0
size = 0.0
tol = 0.0
units = {'B': 1, 'KiB': 1024, 'MiB': 1024 ** 2, 'GiB': 1024 ** 3}
for line in sys.stdin:
    m = re.search(r'bulk-logs: deleted (\d+) files? \(([\d.]+) (\w+)\) in $D: (.*)$', line)
    if not m:
        sys.exit('bad summary line: ' + line)
    files += int(m.group(1))
    size += float(m.group(2)) * units[m.group(3)]
    tol += 0.05 * units[m.group(3)]
    for n, why in re.findall(r'(\d+) by (\w+)', m.group(4)):
        if why == 'age': age += int(n)
        elif why == 'count': count += int(n)
        else: sys.exit('unexpected reason: ' + line)
if (files, age, count) != (2000, 1500, 500):
    sys.exit('totals: %d files, %d by age, %d by count' % (files, age, count))
if abs(size - 2000 * 1024) > tol + 1:
    sys.exit('bytes: %.0f, not %d' % (size, 2000 * 1024))
" || fail "summary totals are wrong: $(grep 'bulk-logs: deleted' "$HK_LOG")"
grep -q "f0[0-9]*\.log: deleted" "$HK_LOG" && fail "per-file lines at the default level"
grep -qE '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-' "$HK_LOG" && fail "a log line names a registration by UUID: $(grep -E '[0-9a-f]{8}-[0-9a-f]{4}-' "$HK_LOG" | head -3)"
grep "bulk-logs" "$HK_LOG" >&2
stop_daemon || fail "clean stop"

# debug: the per-file lines stay, the summary too
python3 - "$D" <<'EOP'
import os, sys, time
now = time.time() - 3 * 86400
for i in range(5):
    p = os.path.join(sys.argv[1], "old%d.log" % i)
    open(p, "w").close()
    os.utime(p, (now, now))
EOP
: >"$HK_LOG"
start_daemon
wait_until count_is "$D" 500 || fail "-v: old files not deleted"
wait_until grep -q 'bulk-logs: deleted 5 files (0 B) in .*: 5 by age' "$HK_LOG" ||
	fail "-v: no summary: $(grep deleted "$HK_LOG")"
[ "$(grep -c 'old[0-9].log: deleted (age)' "$HK_LOG")" = 5 ] || fail "-v: per-file lines: $(grep deleted "$HK_LOG")"
exit 0
