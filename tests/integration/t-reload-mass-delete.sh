#!/bin/sh
# A mass deletion after a reload keeps the daemon answering (issue 15,
# finding 3): 50,000 indexed files expire at once when the retention is
# lowered and SIGHUP sent. While they are deleted, every `status` answers
# within a few seconds (it timed out for about 55 s at 300k files), a
# `run` started meanwhile is never reported as unreachable (exit 3), and
# in the end every file is gone. On tmpfs when /dev/shm is one.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
J="$top_srcdir/tests/integration/jobs.py"
N=50000
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
	D=$(mktemp -d /dev/shm/hk-mass.XXXXXX)
	HK_EXTRA_CLEANUP="rm -rf '$D'"
else
	D="$T/data"
	mkdir -p "$D"
fi
python3 "$J" mkfiles "$D" "$N" $((86400 * 5))
conf() {
	write_config <<EOC
[cleanup "mass"]
directory = $D
retention = $1
EOC
}
conf 3650d
start_daemon
S="$T/state/housekeeper.sock"
wait_until test -S "$S" || fail "no control socket"
HK_WAIT=60 wait_until sh -c "'$HKCTL' -s '$S' --json status | jq -e '.[0].state == \"watching\" and .[0].files == $N' >/dev/null" ||
	fail "first scan not done: $("$HKCTL" -s "$S" --json status)"
conf 2d
kill -HUP "$HK_PID"
"$HKCTL" -s "$S" run mass >"$T/run.out" 2>"$T/run.err" &
RUN=$!
# status, back to back, while files are left: the slowest answer
python3 - "$HKCTL" "$S" "$D" >"$T/lat" <<'EOP' || fail "status failed during the deletion: $(cat "$T/lat")"
import os, subprocess, sys, time
hkctl, sock, d = sys.argv[1:4]
n = worst = 0
deadline = time.monotonic() + 120
while os.listdir(d) and time.monotonic() < deadline:
    t0 = time.monotonic()
    r = subprocess.run([hkctl, "-s", sock, "status"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
    dt = time.monotonic() - t0
    n += 1
    worst = max(worst, dt)
    if r.returncode != 0:
        print("status exit %d after %.3f s: %s" % (r.returncode, dt, r.stderr.decode()))
        sys.exit(1)
    time.sleep(0.05)
print("samples %d max %.3f left %d" % (n, worst, len(os.listdir(d))))
EOP
echo "status during the deletion: $(cat "$T/lat")"
rc=0
wait "$RUN" || rc=$?
[ "$rc" != 3 ] || fail "run reported the daemon unreachable: $(cat "$T/run.err")"
[ "$rc" = 0 ] || fail "run exited $rc: $(cat "$T/run.err")"
read -r _ samples _ max _ left <"$T/lat"
[ "$left" = 0 ] || HK_WAIT=60 wait_until count_is "$D" 0 || fail "not all deleted: $(count_entries "$D") left"
[ "$samples" -ge 2 ] || fail "the deletion was over before status could be asked twice: $(cat "$T/lat")"
# a few seconds: more under sanitizers, as every wait (HK_WAIT)
awk -v m="$max" -v w="$HK_WAIT" 'BEGIN { exit !(m < 3.0 * w / 20) }' ||
	fail "status took ${max}s during the deletion"
count_is "$D" 0 || fail "$(count_entries "$D") files left"
exit 0
