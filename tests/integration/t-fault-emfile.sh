#!/bin/sh
# Fault injection: the daemon runs out of file descriptors (prlimit
# --nofile=40:40, soft and hard, since the daemon raises its soft limit to
# the hard one) while indexing a recursive registration with more
# subdirectories than that. It must keep running, log the problem, answer
# housekeeperctl, delete nothing it could not index (max_files = 1000 over
# fewer files: nothing at all may go), and a non-recursive registration
# beside it must keep enforcing its limit on events.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
command -v prlimit >/dev/null 2>&1 || skip "needs prlimit"
prlimit --nofile=40:40 true 2>/dev/null || skip "prlimit cannot set RLIMIT_NOFILE here"
NOFILE=40
NDIRS=80
S="$T/state/housekeeper.sock"
# every call bounded: a daemon that cannot accept makes clients time out
ctl() { timeout 4 "$HKCTL" -s "$S" "$@"; }
# problems are collected, so that one run shows every broken promise
problem() { echo "$*" >>"$T/problems"; echo "problem: $*" >&2; }
R="$T/tree"
F="$T/flat"
mkdir -p "$R" "$F"
for i in $(seq -w 1 $NDIRS); do
	mkdir -p "$R/d$i"
	for j in 1 2 3; do
		echo "$i $j" >"$R/d$i/f$j.log"
	done
done
echo top >"$R/top.log"
find "$R" -type f | LC_ALL=C sort >"$T/tree.files"
write_config <<EOC
[scheduler]
housekeeper_schedule = 0 3 1 1 *

[cleanup "tree"]
directory = $R
recursive = yes
max_files = 1000

[cleanup "flat"]
directory = $F
max_files = 2
EOC
cat >"$T/hkd-limited" <<EOS
#!/bin/sh
exec prlimit --nofile=$NOFILE:$NOFILE "$HKD" "\$@"
EOS
chmod +x "$T/hkd-limited"
REAL_HKD=$HKD
HKD="$T/hkd-limited"
start_daemon
HKD=$REAL_HKD
grep -q "Max open files *$NOFILE *$NOFILE" "/proc/$HK_PID/limits" || fail "the fd limit did not reach the daemon: $(grep 'open files' "/proc/$HK_PID/limits")"
wait_until grep -q 'Too many open files' "$HK_LOG" || fail "no EMFILE problem logged"
sleep 1
kill -0 "$HK_PID" || fail "daemon died when it ran out of fds"
# nothing in the tree was deleted
find "$R" -type f | LC_ALL=C sort >"$T/tree.now"
[ "$(LC_ALL=C comm -23 "$T/tree.files" "$T/tree.now" | wc -l)" -eq 0 ] ||
	fail "files deleted from the tree: $(LC_ALL=C comm -23 "$T/tree.files" "$T/tree.now" | head -3 | tr '\n' ' ')"
# the flat registration enforces on events (it needs an fd per deletion:
# open + flock)
mkfiles "$F" f 6
HK_WAIT_SAVED=$HK_WAIT
HK_WAIT=4
ok=yes
wait_until count_is "$F" 2 || ok=no
HK_WAIT=$HK_WAIT_SAVED
if [ $ok = yes ]; then
	[ "$(names "$F" | tr '\n' ' ')" = "f005.log f006.log " ] || fail "flat: wrong files kept: $(names "$F" | tr '\n' ' ')"
else
	problem "flat: limit not enforced while the tree holds every fd ($(count_entries "$F") files: $(names "$F" | tr '\n' ' '); log: $(grep 'flat/.*cannot delete' "$HK_LOG" | head -1 | sed 's/.*cannot delete/cannot delete/'))"
fi
# the daemon answers its control socket
if ! ctl status >/dev/null 2>"$T/ctl.err"; then
	problem "housekeeperctl status: no answer within 4 s $(cat "$T/ctl.err"); daemon log: $(grep "^housekeeperd: ctl:" "$HK_LOG" | tail -n 1)"
	kill -0 "$HK_PID" || fail "daemon died"
	stop_daemon || fail "daemon did not stop cleanly"
	fail "$(wc -l <"$T/problems") problem(s): $(cat "$T/problems")"
fi
ctl metrics >"$T/metrics" 2>&1 || problem "metrics: $(cat "$T/metrics")"
grep -q '^housekeeper_watch_fallbacks_total [1-9]' "$T/metrics" ||
	problem "the failure is not counted: $(grep watch_fallbacks "$T/metrics" | grep -v '^#')"
# a manual run of the tree (rescans, fds still short) deletes nothing either
ID=$(ctl --json list | jq -r '.[] | select(.name == "tree") | .id')
ctl run "$ID" >"$T/run.out" 2>&1 || echo "note: run of the tree: $(tail -n 3 "$T/run.out" | tr '\n' ' ')" >&2
kill -0 "$HK_PID" || fail "daemon died in the manual run"
find "$R" -type f | LC_ALL=C sort >"$T/tree.now"
[ "$(LC_ALL=C comm -23 "$T/tree.files" "$T/tree.now" | wc -l)" -eq 0 ] ||
	fail "files deleted from the tree by the run: $(LC_ALL=C comm -23 "$T/tree.files" "$T/tree.now" | head -3 | tr '\n' ' ')"
echo new >"$F/g.log"
HK_WAIT=4
wait_until count_is "$F" 2 || problem "flat: limit not enforced after the run ($(count_entries "$F") files)"
HK_WAIT=$HK_WAIT_SAVED
[ -e "$F/g.log" ] || fail "flat: the newest file was deleted"
if ctl --json audit --all >"$T/audit.json" 2>&1; then
	jq -e --arg r "$R/" 'all(.[]; .path | startswith($r) | not)' "$T/audit.json" >/dev/null ||
		fail "audit records deletions in the tree"
fi
kill -0 "$HK_PID" || fail "daemon died"
stop_daemon || fail "daemon did not stop cleanly"
[ ! -s "$T/problems" ] || fail "$(wc -l <"$T/problems") problem(s): $(cat "$T/problems")"
exit 0
