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
