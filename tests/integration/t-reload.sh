#!/bin/sh
# SIGHUP with a valid config applies the new limits at once; a key only a
# restart can change ([daemon] control_socket) is kept and said so; with a
# broken config it logs every error and keeps running the old one unchanged.
. "$(dirname "$0")/lib.sh"
D="$T/logs"
mkdir -p "$D"
mkfiles "$D" f 10
S="$T/hk.sock"
write_config <<EOC
[daemon]
control_socket = $S
[cleanup "r"]
directory = $D
max_files = 8
EOC
start_daemon
wait_until count_is "$D" 8 || fail "initial limit"
cat >"$T/hk.conf" <<EOC
[daemon]
control_socket = $T/other.sock
[cleanup "r"]
directory = $D
max_files = 4
EOC
kill -HUP "$HK_PID"
wait_until count_is "$D" 4 || fail "new limit not applied on reload: $(names "$D")"
wait_for_log "control_socket changed; it takes effect at the next restart" ||
	fail "a changed control_socket was not said to need a restart"
HOUSEKEEPER_SOCKET="$S" "$HKCTL" status >/dev/null || fail "the running socket stopped answering"
[ ! -e "$T/other.sock" ] || fail "a reload bound the new socket"
# broken: unknown key and a bad value; the old limit (4) must stay in force
cat >"$T/hk.conf" <<EOC
[cleanup "r"]
directory = $D
max_files = 1
bogus = 1
retention = 12
EOC
kill -HUP "$HK_PID"
wait_for_log "reload refused" || fail "broken reload not reported"
grep -q "hk.conf:4: " "$HK_LOG" || fail "error for line 4 not logged"
grep -q "hk.conf:5: " "$HK_LOG" || fail "error for line 5 not logged"
for i in 1 2 3; do echo $i >"$D/new$i.log"; done
wait_until count_is "$D" 4 || fail "old config not kept: $(names "$D")"
sleep 0.3
count_is "$D" 4 || fail "broken config was applied: $(names "$D")"
kill -0 "$HK_PID" || fail "daemon died on a broken reload"
stop_daemon || fail "SIGTERM: non-zero exit"
exit 0
