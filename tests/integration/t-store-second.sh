#!/bin/sh
# One daemon per state directory: a second housekeeperd (daemon, --once,
# --reset-state, another socket, the directory reached through a symlinked
# parent) on the same state directory refuses to start, naming the
# directory and the pid of the first, and leaves the first and its store
# alone; the first keeps working. (--once --dry-run is the preview that
# works beside the daemon: t-once-preview.sh.)
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"
command -v timeout >/dev/null 2>&1 || skip "needs timeout(1)"
C="$T/cfg"
D="$T/api"
mkdir -p "$C" "$D"
write_config <<EOC
[scheduler]
housekeeper_schedule = 0 3 1 1 *

[cleanup "cfg"]
directory = $C
pattern = *.log
max_files = 3
EOC
start_daemon
wait_until ctl_up || fail "first daemon does not answer"
FIRST=$HK_PID
API=$(ctl register "$D" --max-files 2) || fail "register"
ino=$(stat -c %i "$STATE/store.mdb")
[ "$(tr -d '\n ' <"$STATE/housekeeper.lock")" = "$FIRST" ] ||
	fail "housekeeper.lock holds '$(cat "$STATE/housekeeper.lock")', not pid $FIRST"
ln -s "$T" "$T/link"

# second WHAT STATEDIR ARGS...: must refuse at once
second() {
	what=$1
	dir=$2
	shift 2
	rc=0
	timeout -k 5 10 "$HKD" -c "$T/hk.conf" -S "$dir" "$@" >"$T/out" 2>&1 </dev/null || rc=$?
	[ "$rc" -ne 0 ] || fail "$what: second daemon exited 0: $(cat "$T/out")"
	[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "$what: second daemon started (stopped by timeout)"
	[ "$rc" -lt 128 ] || fail "$what: second daemon died of signal $((rc - 128))"
	grep -q -- "$dir" "$T/out" || fail "$what: message does not name $dir: $(cat "$T/out")"
	grep -q -- "$FIRST" "$T/out" || fail "$what: message does not name pid $FIRST: $(cat "$T/out")"
	kill -0 "$FIRST" 2>/dev/null || fail "$what: the first daemon died"
	ctl_up || fail "$what: the first daemon stopped answering on $SOCK"
	[ "$(stat -c %i "$STATE/store.mdb")" = "$ino" ] || fail "$what: store.mdb was replaced"
	[ -z "$(find "$STATE" -name 'store.mdb.corrupt-*')" ] || fail "$what: store moved aside"
	[ "$(tr -d '\n ' <"$STATE/housekeeper.lock")" = "$FIRST" ] ||
		fail "$what: housekeeper.lock now holds '$(cat "$STATE/housekeeper.lock")'"
}

second "daemon" "$STATE" -f
second "--once" "$STATE" --once
second "--reset-state" "$STATE" -f --reset-state
HOUSEKEEPER_SOCKET="$T/other.sock" second "other socket" "$STATE" -f
[ ! -e "$T/other.sock" ] || fail "second daemon left $T/other.sock"
second "through a symlinked parent" "$T/link/state" -f

# the first still works: limits, status, audit, registrations
mkfiles "$C" c 6
mkfiles "$D" d 4
wait_until count_is "$C" 3 || fail "first daemon no longer enforces cfg: $(names "$C")"
wait_until count_is "$D" 2 || fail "first daemon no longer enforces api: $(names "$D")"
wait_until st_is "$API" files 2 || fail "status: $(st_field "$API" files)"
ctl --json audit --all | jq -e 'length == 5 and all(.[]; .result == "deleted")' >/dev/null ||
	fail "audit of the first daemon: $(ctl --json audit --all)"
ctl run >/dev/null || fail "run on the first daemon"
stop_daemon || fail "first daemon did not stop cleanly"

# once the first is gone, the directory is free again
restart_daemon
wait_until ctl_up || fail "daemon after the first stopped"
ctl --json list | jq -e --arg id "$API" 'any(.[]; .id == $id)' >/dev/null ||
	fail "API registration lost"
ctl --json audit --all | jq -e 'length == 5' >/dev/null || fail "audit lost: $(ctl --json audit --all)"
stop_daemon || fail "clean stop"
exit 0
