#!/bin/bash
# Attack (issue 14, finding 7, the directory budget): an unprivileged user
# (hk-sec-a) registers, recursively, a directory with 600 subdirectories.
# Each is a directory fd and an inotify watch of the daemon; with the fd
# limit at 700 (a budget of 572 directories) the user's tree alone would
# take them all, and root's recursive registration, made afterwards, would
# no longer be indexed below its top: its expired files in subdirectories
# would stay forever.
# Expected (SPEC 9: directory fds and inotify watches are budgeted per
# owner): a non-root owner holds at most a quarter of the budget, so root's
# 100 subdirectories are all opened and every expired root file in them is
# deleted; the user's registration falls back to periodic rescans with a
# clear message. Positive control: the user's own expired file at the top
# of its tree is deleted.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"
sec_users

SOCK="$T/ctl.sock"
A="$T/a"
R="$T/r"
OLD='2001-01-01 00:00:00'
mkdir -p "$A" "$R"
for i in $(seq 1 600); do mkdir "$A/d$i"; done
for i in $(seq 1 100); do mkdir "$R/d$i"; echo "root $i" >"$R/d$i/old.log"; done
echo mine >"$A/own.log"
chown -R hk-sec-a: "$A"
touch -d "$OLD" "$A/own.log" "$R"/d*/old.log

write_config <<EOC
[daemon]
control_socket = $SOCK
$(sec_canary_conf)
EOC
ulimit -n 700 || skip "cannot lower the fd limit"
start_daemon
wait_until test -S "$SOCK" || fail "control socket $SOCK not created"
chmod 0666 "$SOCK"
ctl() { "$HKCTL" -s "$SOCK" "$@"; }
actl() { sec_run_as hk-sec-a "$HKCTL" -s "$SOCK" "$@"; }
sec_probe

actl register "$A" --recursive --retention 1d >/dev/null || fail "hk-sec-a could not register $A"
wait_until test ! -e "$A/own.log" ||
	sec_fail_later "positive control: hk-sec-a's own expired file was not deleted"
sec_probe
ctl register "$R" --recursive --retention 1d >/dev/null || fail "root could not register $R"
left() { find "$R" -name old.log | wc -l; }
none_left() { [ "$(left)" -eq 0 ]; }   # counted again at every try
wait_until none_left ||
	sec_fail_later "$(left) of root's 100 expired files in subdirectories were kept: hk-sec-a's tree took the directory budget"
grep -q "$A: cannot open a subdirectory" "$HK_LOG" ||
	sec_fail_later "no message says that hk-sec-a's tree is over its share"
sec_probe
sec_finish
