#!/bin/sh
# Under systemd (Type=notify) the daemon speaks sd_notify itself: READY=1
# once it serves, RELOADING=1 and READY=1 around a reload, STATUS= lines,
# WATCHDOG=1 at half of WatchdogSec, STOPPING=1 on SIGTERM; its log lines
# then carry <N> priority prefixes for the journal.
. "$(dirname "$0")/lib.sh"
D="$T/logs"
mkdir -p "$D"
printf '[cleanup "n"]\ndirectory = %s\nmax_files = 5\n' "$D" | write_config
notify_listen "$T/notify.sock" "$T/notify.log"
NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=200000 start_daemon
wait_until grep -q ' READY=1$' "$T/notify.log" || fail "no READY=1"
wait_until grep -q ' WATCHDOG=1$' "$T/notify.log" || fail "no WATCHDOG=1"
grep -q '^<[0-7]>' "$HK_LOG" || fail "no <N> priority prefixes under systemd: $(head -3 "$HK_LOG")"
kill -HUP "$HK_PID"
wait_until grep -q ' RELOADING=1$' "$T/notify.log" || fail "no RELOADING=1"
two_ready() { [ "$(grep -c ' READY=1$' "$T/notify.log")" -ge 2 ]; }
wait_until two_ready || fail "no READY=1 after the reload"
stop_daemon || fail "stop"
wait_until grep -q ' STOPPING=1$' "$T/notify.log" || fail "no STOPPING=1"
grep -q ' STATUS=' "$T/notify.log" || fail "no STATUS="
exit 0
