# bench/lib.sh - the daemon handling shared by bench/run.sh and
# bench/mem.sh. The caller sets HKB (the built bench/hkb) and HKD first.

HKD_PID=
SPAWN_PID=
PIDS=()   # every process started, for the caller's EXIT trap

rotate() {   # rotate K ITEM...: the items, starting at the K-th (mod their count)
	local n=$(($# - 1)) k=$1 i
	shift
	local arr=("$@")
	for ((i = 0; i < n; i++)); do printf '%s ' "${arr[$(( (i + k) % n ))]}"; done
}
rss_anon() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }   # rss_anon PID: kB

# start_hkd CONF STATE LOG [args]: the daemon in the foreground, its lines
# stamped by hkb into LOG; HKD_PID once it has started.
start_hkd() {
	local conf=$1 state=$2 logf=$3
	shift 3
	rm -f "$logf" "$logf.pid"
	"$HKB" spawnlog "$logf" "$logf.pid" "$HKD" -f -c "$conf" -S "$state" "$@" &
	SPAWN_PID=$!
	PIDS+=("$SPAWN_PID")
	local i=0
	while [ ! -s "$logf.pid" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
	HKD_PID=$(cat "$logf.pid")
	PIDS+=("$HKD_PID")
}

# stop_hkd: SIGTERM, up to 20 s to exit, then SIGKILL.
stop_hkd() {
	[ -n "$HKD_PID" ] || return 0
	kill -TERM "$HKD_PID" 2>/dev/null
	local i=0
	while kill -0 "$HKD_PID" 2>/dev/null && [ $i -lt 1000 ]; do sleep 0.02; i=$((i + 1)); done
	kill -9 "$HKD_PID" 2>/dev/null
	wait "$SPAWN_PID" 2>/dev/null
	HKD_PID=
}
