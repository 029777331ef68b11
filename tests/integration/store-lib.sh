# store-lib.sh - helpers of the t-store-*.sh tests (persistence, issue 4).
# Sourced after lib.sh. The daemon runs with -S "$T/state", so its control
# socket is "$T/state/housekeeper.sock".
command -v jq >/dev/null 2>&1 || skip "needs jq"
STATE="$T/state"
SOCK="$STATE/housekeeper.sock"

ctl() { "$HKCTL" -s "$SOCK" "$@"; }

# Start the daemon again: the log of the earlier runs moves to
# $T/daemon.log.old, so that start_daemon waits for this run's "started".
restart_daemon() {
	if [ -f "$HK_LOG" ]; then
		cat "$HK_LOG" >>"$T/daemon.log.old"
		: >"$HK_LOG"
	fi
	start_daemon "$@"
}

# st_field ID FIELD: one field of a registration in `status --json`.
st_field() {
	ctl --json status | jq -r --arg id "$1" ".[] | select(.id == \$id) | .$2"
}

# st_is ID FIELD VALUE
st_is() {
	[ "$(st_field "$1" "$2")" = "$3" ]
}

# The daemon answers on its control socket.
ctl_up() {
	ctl status >/dev/null 2>&1
}

# Launch the daemon in the background without waiting (the log of earlier
# runs moves to $T/daemon.log.old, as in restart_daemon).
launch_daemon() {
	if [ -f "$HK_LOG" ]; then
		cat "$HK_LOG" >>"$T/daemon.log.old"
		: >"$HK_LOG"
	fi
	"$HKD" -f -v -c "$T/hk.conf" -S "$STATE" "$@" >>"$HK_LOG" 2>&1 &
	HK_PID=$!
}

# Wait until the launched daemon answers; fail at once if it exits.
wait_up() {
	wait_until sh -c '! kill -0 "$1" || "$2" -s "$3" status >/dev/null' - "$HK_PID" "$HKCTL" "$SOCK" ||
		fail "$1: daemon did not answer within $HK_WAIT s"
	if ! kill -0 "$HK_PID" 2>/dev/null; then
		rc=0
		wait "$HK_PID" || rc=$?
		HK_PID=
		fail "$1: daemon exited with status $rc"
	fi
}
