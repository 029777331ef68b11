#!/bin/sh
# The Python client (contrib/python/housekeeper, issue 18) against the real
# daemon: tests/python/test_client.py registers, updates, lists, runs (dry
# and real: the files are gone) and removes through the socket with Client
# and AsyncClient, and checks the errors (no daemon, bad arguments with the
# daemon's message, unknown ids, a config file's registration, timeouts).
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
S="$T/ctl.sock"
mkdir -p "$T/data" "$T/cfg"
write_config <<EOC
[daemon]
control_socket = $S

[cleanup "cfg"]
directory = $T/cfg
retention = 30d
EOC
start_daemon
wait_until test -S "$S" || fail "no control socket"
rc=0
# PYTHONDONTWRITEBYTECODE: no __pycache__ in the source tree (read-only in distcheck)
env PYTHONPATH="$top_srcdir/contrib/python" PYTHONDONTWRITEBYTECODE=1 \
	HK_TEST_SOCKET="$S" HK_TEST_ROOT="$T/data" HK_TEST_CONFIG="$T/hk.conf" \
	python3 "$top_srcdir/tests/python/test_client.py" -v >"$T/unittest.log" 2>&1 || rc=$?
cat "$T/unittest.log" >&2
[ "$rc" = 0 ] || fail "tests/python/test_client.py failed (exit $rc)"
# every test ran: none skipped for want of the daemon
grep -q '^Ran [1-9][0-9]* tests' "$T/unittest.log" || fail "no tests ran"
grep -q 'skipped .run by tests/integration' "$T/unittest.log" && fail "tests skipped: no daemon passed"
kill -0 "$HK_PID" || fail "the daemon died"
exit 0
