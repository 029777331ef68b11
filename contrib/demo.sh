#!/bin/sh
# demo.sh - show housekeeperd keeping a high-churn log directory within its
# limits. A writer creates log files as fast as a shell can; the daemon,
# in the foreground, deletes the oldest the moment a limit breaks.
#   contrib/demo.sh [BUILDDIR]    (DEMO_SECONDS=0 runs until Ctrl-C)
set -eu
top=${1:-$(cd "$(dirname "$0")/.." && pwd)}
seconds=${DEMO_SECONDS:-15}
demo=${DEMO_DIR:-/tmp/housekeeper-demo}
logs="$demo/logs"

rm -rf "$demo"
mkdir -p "$logs" "$demo/state"
# some old files, already past the age limit
for i in 1 2 3 4 5; do
	echo "old log $i" >"$logs/old-$i.log"
	touch -d "@$(($(date +%s) - 86400 * 3))" "$logs/old-$i.log"
done
echo "never matches the pattern" >"$logs/README.txt"

cat >"$demo/housekeeper.conf" <<EOC
[scheduler]
housekeeper_schedule = */5 * * * *

[cleanup "demo-logs"]
directory   = $logs
pattern     = *.log
retention   = 2d
max_files   = 50
max_size    = 256K
description = demo: a high-churn log directory
EOC

echo "== configuration ($demo/housekeeper.conf), as the daemon sees it:"
"$top/housekeeperd" -t -c "$demo/housekeeper.conf"
echo
echo "== starting housekeeperd in the foreground; a writer adds 20 log files a second"
"$top/housekeeperd" -f -c "$demo/housekeeper.conf" -S "$demo/state" &
hkd=$!
writer() {
	i=0
	while :; do
		i=$((i + 1))
		head -c $((2048 + (i * 1237) % 8192)) /dev/urandom >"$logs/app-$(printf %06d $i).log"
		sleep 0.05
	done
}
writer &
wr=$!
trap 'set +e; kill $wr 2>/dev/null; kill $hkd 2>/dev/null; wait $hkd 2>/dev/null' EXIT
trap 'exit 130' INT TERM

t=0
while [ "$seconds" -eq 0 ] || [ "$t" -lt "$seconds" ]; do
	sleep 1
	t=$((t + 1))
	n=$(find "$logs" -name '*.log' | wc -l)
	kb=$(find "$logs" -name '*.log' -printf '%s\n' | awk '{ s += $1 } END { print int(s / 1024) }')
	echo "[$t s] $logs: $n log files (limit 50), ${kb} KiB (limit 256K, apparent size)"
done
kill $wr 2>/dev/null || true
echo
echo "== the directory stayed within max_files = 50 and max_size = 256K while"
echo "   files kept arriving; old-*.log (3 days old) went at once (retention = 2d);"
echo "   README.txt does not match *.log and was never touched:"
ls "$logs" | head -n 3
echo "   ..."
