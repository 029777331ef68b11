#!/bin/sh
# An inotify queue overflow is routine (issue 15, finding 6): the daemon
# rescans as before, counts it in housekeeper_inotify_overflows_total and
# logs a notice; it is no failure: no error line, no on_failure command.
# The flood comes while the daemon is stopped (SIGSTOP), then the daemon's
# own mass deletion (29,900 files) follows.
. "$(dirname "$0")/lib.sh"
D="$T/flood"
mkdir -p "$D"
cat >"$T/hook.sh" <<'EOH'
#!/bin/sh
env | grep '^HK_' | sort >>"$HOOK_OUT"
EOH
chmod +x "$T/hook.sh"
export HOOK_OUT="$T/hook.out"
write_config <<EOC
[daemon]
on_failure = $T/hook.sh

[cleanup "flood"]
directory = $D
max_files = 100
EOC
# log lines with their priority ("<N>" prefixes, as under systemd)
JOURNAL_STREAM=test start_daemon
S="$T/state/housekeeper.sock"
"$HKCTL" -s "$S" metrics | grep -qx 'housekeeper_inotify_overflows_total 0' || fail "overflows before the flood"
kill -STOP "$HK_PID"
python3 - "$D" <<'EOP'
import os, sys
d = sys.argv[1]
for i in range(30000):
    fd = os.open(os.path.join(d, "f%05d" % i), os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)
EOP
kill -CONT "$HK_PID"
HK_WAIT=120 wait_until count_is "$D" 100 || fail "limit not restored after overflow: $(count_entries "$D") files"
m=$("$HKCTL" -s "$S" metrics | sed -n 's/^housekeeper_inotify_overflows_total //p')
[ "${m:-0}" -ge 1 ] || fail "overflow not counted: housekeeper_inotify_overflows_total ${m:-missing}"
grep -q '^<5>watch: inotify queue overflowed' "$HK_LOG" || fail "no notice about the overflow: $(grep overflow "$HK_LOG")"
sleep 1   # an on_failure command would have run by now
[ ! -e "$HOOK_OUT" ] || fail "on_failure ran for an overflow: $(cat "$HOOK_OUT")"
! grep -q '^<[0-3]>' "$HK_LOG" || fail "error lines for an overflow: $(grep '^<[0-3]>' "$HK_LOG" | head -3)"
[ -e "$D/f29999" ] || fail "newest file deleted"
exit 0
