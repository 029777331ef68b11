#!/bin/sh
# The daemon's own deletions overflow the inotify queue (issue 15,
# finding 6): the queue is made tiny (fs.inotify.max_queued_events = 16,
# read once when the daemon creates its inotify instance; the old value is
# back as soon as the daemon is up), then a reload lets 3,000 indexed files
# expire at once. Every deletion queues events of its own (the rename
# aside, the unlink): the queue overflows. That is routine: the overflow
# metric counts it, a notice says so, and nothing is a failure: no
# on_failure command, no error-level log line, no failed job, and a run
# afterwards exits 0.
. "$(dirname "$0")/lib.sh"
need_root
Q=/proc/sys/fs/inotify/max_queued_events
[ -w "$Q" ] || skip "cannot set fs.inotify.max_queued_events"
OLDQ=$(cat "$Q")
HK_EXTRA_CLEANUP="[ \"\$(cat $Q)\" = $OLDQ ] || echo $OLDQ >$Q"
D="$T/self"
mkdir -p "$D"
N=3000
python3 - "$D" "$N" <<'EOP'
import os, sys, time
d, n = sys.argv[1], int(sys.argv[2])
old = time.time() - 7200
for i in range(n):
    p = os.path.join(d, "f%05d" % i)
    os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
    os.utime(p, (old, old))
EOP
cat >"$T/hook.sh" <<'EOH'
#!/bin/sh
env | grep '^HK_' | sort >>"$HOOK_OUT"
EOH
chmod +x "$T/hook.sh"
export HOOK_OUT="$T/hook.out"
conf() {
	write_config <<EOC
[daemon]
on_failure = $T/hook.sh

[cleanup "self"]
directory = $D
retention = $1
EOC
}
conf 3650d
# the limit is global: back to its old value as soon as the daemon holds
# its inotify instance (other daemons started meanwhile get it too)
echo 16 >"$Q"
JOURNAL_STREAM=test "$HKD" -f -v -c "$T/hk.conf" -S "$T/state" >>"$HK_LOG" 2>&1 &
HK_PID=$!
has_inotify() { ls -l "/proc/$HK_PID/fd" 2>/dev/null | grep -q 'anon_inode:inotify'; }
wait_until has_inotify || { echo "$OLDQ" >"$Q"; fail "the daemon made no inotify instance"; }
echo "$OLDQ" >"$Q"
wait_for_log "started" || fail "daemon did not start"
S="$T/state/housekeeper.sock"
files() { "$HKCTL" -s "$S" --json status | jq '.[0].files'; }
files_are() { [ "$(files)" = "$1" ]; }
HK_WAIT=60 wait_until files_are "$N" || fail "not indexed: $(files) files"
"$HKCTL" -s "$S" metrics | grep -qx 'housekeeper_inotify_overflows_total 0' ||
	fail "overflow before the deletion: $("$HKCTL" -s "$S" metrics | grep overflows)"

conf 1h
kill -HUP "$HK_PID"
HK_WAIT=120 wait_until count_is "$D" 0 || fail "not all deleted: $(count_entries "$D") files left"
m=$("$HKCTL" -s "$S" metrics | sed -n 's/^housekeeper_inotify_overflows_total //p')
[ "${m:-0}" -ge 1 ] || fail "no overflow from $N deletions (the test needs one): ${m:-missing}"
grep -q '^<5>watch: inotify queue overflowed' "$HK_LOG" || fail "no notice about the overflow"
rc=0; "$HKCTL" -s "$S" run self >"$T/run.out" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || fail "run after the overflow: exit $rc: $(cat "$T/run.out")"
"$HKCTL" -s "$S" --json jobs | jq -e 'all(.[]?; .outcome != "failed")' >/dev/null ||
	fail "a failed job: $("$HKCTL" -s "$S" --json jobs)"
sleep 1   # an on_failure command would have run by now
[ ! -e "$HOOK_OUT" ] || fail "on_failure ran for the daemon's own events: $(cat "$HOOK_OUT")"
! grep -q '^<[0-3]>' "$HK_LOG" || fail "error lines: $(grep '^<[0-3]>' "$HK_LOG" | head -3)"
m=$("$HKCTL" -s "$S" metrics | sed -n 's/^housekeeper_job_failures_total //p')
[ "${m:-0}" = 0 ] || fail "housekeeper_job_failures_total ${m:-missing}"
exit 0
