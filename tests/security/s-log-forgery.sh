#!/bin/bash
# Attack: log forgery (issue 14 finding 6). Directory names, patterns,
# descriptions, registration names and file names with an embedded newline
# (also CR and ESC) that carry a whole forged log line
#   housekeeperd: reap: /etc/shadow: deleted FORGED
# through the config (a recursive registration, an ESC in the directory),
# the API (a non-root user and root registering, running, updating,
# failing), deletions, a failed deletion (immutable file, on_failure) and
# debug logging (-v).
# Expected: no line of the log begins with the forged prefix, no raw CR or
# ESC byte reaches the log, every line with a payload starts as a daemon
# line; the on_failure command gets a one-line HK_ERROR_MESSAGE. Positive
# control: the payloads appear escaped ("\n"), and the owners' expired
# files are deleted.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
command -v chattr >/dev/null 2>&1 || skip "needs chattr"

U=hk-sec-a
sec_user "$U"
chmod 755 "$T"
S="$T/run/ctl.sock"
# in directory names (a path: the slashes make subdirectories) and in
# file names (no slash)
FORGE='housekeeperd: reap: /etc/shadow: deleted'
NL=$'\n'"$FORGE FORGED"
FN=$'\n''housekeeperd: reap: FORGED-file: deleted'
CR=$'\r''housekeeperd: reap: FORGED-cr: deleted'
ESC=$'\033[2K''housekeeperd: reap: FORGED-esc: deleted'
FORGED_RE='^housekeeperd: reap: (/etc/shadow|FORGED)'
old() { touch -h -d '2001-01-01 00:00:00' "$@"; }

# config: a recursive registration whose subdirectory and file names carry
# the payload, one immutable file among them (a failed deletion), and a
# registration whose directory name holds an ESC
C="$T/cfg"
E="$T/esc$ESC"
mkdir -p "$C/sub$FN" "$E"
echo a >"$C/sub$FN/f$FN.log"
echo b >"$C/x$FN.log"
echo c >"$C/y$CR.log"
echo e >"$E/e.log"
echo i >"$C/stuck$FN.log"
old "$C/sub$FN/f$FN.log" "$C/x$FN.log" "$C/y$CR.log" "$E/e.log" "$C/stuck$FN.log"
chattr +i "$C/stuck$FN.log" 2>/dev/null || skip "chattr +i not supported here"
sec_cleanup_immutable() { chattr -i "$C/stuck$FN.log" 2>/dev/null; sec_cleanup; }
HK_EXTRA_CLEANUP=sec_cleanup_immutable
cat >"$T/hook.sh" <<'EOH'
#!/bin/sh
printf '%s\n' "$HK_ERROR_MESSAGE" >>"$HOOK_OUT"
printf '%s\n' "$HK_REGISTRATION_ID" >>"$HOOK_OUT"
EOH
chmod +x "$T/hook.sh"
export HOOK_OUT="$T/hook.out"
write_config <<EOC
[daemon]
control_socket = $S
control_group = $(id -gn "$U")
on_failure = $T/hook.sh

[cleanup "cfg"]
directory = $C
pattern = *.log
recursive = yes
retention = 1d
description = esc$ESC

[cleanup "esc"]
directory = $E
retention = 1d
$(sec_canary_conf)
EOC
start_daemon
wait_until test -S "$S" || fail "control socket $S not created"
ctl() { "$HKCTL" -s "$S" "$@"; }
uctl() { sec_run_as "$U" "$HKCTL" -s "$S" "$@"; }
wait_until test ! -e "$C/x$FN.log" || sec_fail_later "config: expired x.log not deleted"
wait_until test ! -e "$C/y$CR.log" || sec_fail_later "config: expired y.log not deleted"
wait_until test ! -e "$C/sub$FN/f$FN.log" || sec_fail_later "config: expired sub/f.log not deleted"
wait_until test ! -e "$E/e.log" || sec_fail_later "config: expired esc/e.log not deleted"
wait_until test -s "$HOOK_OUT" || sec_fail_later "on_failure did not run for the immutable file"

# API, as the user: its own directory with the payload in every string
D="$T/user$NL"
mkdir -p "$D"
echo u >"$D/u$FN.log"
echo k >"$D/keep.txt"
old "$D/u$FN.log"
chown -R "$U" "$T/user"$'\n'*
ID=$(uctl register "$D" --pattern '*.log' --retention 1d --description "desc$NL" --name "name$NL") ||
	sec_fail_later "user: register"
uctl register "$D" --pattern "p$FN*" --description "d$CR" --name "n$ESC" >/dev/null ||
	sec_fail_later "user: register with a newline in the pattern"
[ -z "$ID" ] || uctl run "$ID" --dry-run >/dev/null || sec_fail_later "user: dry run"
[ -z "$ID" ] || uctl update "$ID" --description "upd$NL" || sec_fail_later "user: update"
uctl register "$T/missing$NL" >/dev/null 2>&1 && sec_fail_later "user: registered a missing directory"
wait_until test ! -e "$D/u$FN.log" || sec_fail_later "user: expired u.log not deleted"
[ -e "$D/keep.txt" ] || sec_fail_later "user: keep.txt (not matching) deleted"
# API, as root: a run that fails on the immutable file, then a removal
R="$T/root$NL"
mkdir -p "$R"
echo r >"$R/r$FN.log"
old "$R/r$FN.log"
RID=$(ctl register "$R" --retention 1d --name "root$NL") || sec_fail_later "root: register"
# the immutable file makes the run fail: exit 1
rc=0
ctl run "$(ctl --json list | jq -r '.[] | select(.name == "cfg") | .id')" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || sec_fail_later "a run with a failed deletion: exit $rc, expected 1"
wait_until test ! -e "$R/r$FN.log" || sec_fail_later "root: expired r.log not deleted"
[ -z "$RID" ] || ctl remove "$RID" || sec_fail_later "root: remove"
kill -USR1 "$HK_PID"
sec_probe
stop_daemon || sec_fail_later "daemon did not stop cleanly"

# the log: not one forged line, no raw CR/ESC, payloads escaped
n=$(grep -cE "$FORGED_RE" "$HK_LOG" || true)
[ "$n" -eq 0 ] || sec_fail_later "$n forged line(s) in the log: $(grep -E "$FORGED_RE" "$HK_LOG" | head -3)"
n=$(grep -v '^housekeeperd: [a-z]*: ' "$HK_LOG" | grep -c 'FORGED' || true)
[ "$n" -eq 0 ] || sec_fail_later "$n payload line(s) not starting as daemon lines: $(grep -v '^housekeeperd: [a-z]*: ' "$HK_LOG" | grep FORGED | head -3)"
n=$(grep -c $'[\r\033]' "$HK_LOG" || true)
[ "$n" -eq 0 ] || sec_fail_later "$n log line(s) with a raw CR or ESC byte"
grep -qF "user\\n$FORGE FORGED" "$HK_LOG" ||
	sec_fail_later "positive control: the escaped user directory is not in the log"
grep -qF 'p\nhousekeeperd: reap: FORGED-file' "$HK_LOG" ||
	sec_fail_later "positive control: the escaped pattern is not in the log"
grep -qF 'stuck\nhousekeeperd: reap: FORGED-file: deleted.log: cannot delete' "$HK_LOG" ||
	sec_fail_later "positive control: the failed deletion is not in the log"
grep -qF 'esc\x1b[2K' "$HK_LOG" ||
	sec_fail_later "positive control: the escaped ESC directory is not in the log"
# the on_failure environment: one line per value
if [ -s "$HOOK_OUT" ]; then
	n=$(grep -cE "$FORGED_RE" "$HOOK_OUT" || true)
	[ "$n" -eq 0 ] || sec_fail_later "on_failure: HK_ERROR_MESSAGE carries forged lines: $(cat "$HOOK_OUT")"
	grep -qF 'stuck\nhousekeeperd: reap: FORGED-file' "$HOOK_OUT" ||
		sec_fail_later "on_failure: message not escaped: $(cat "$HOOK_OUT")"
fi
[ -e "$C/stuck$FN.log" ] || sec_fail_later "the immutable file is gone"
sec_finish
