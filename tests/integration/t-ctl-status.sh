#!/bin/sh
# housekeeperctl status for an operator (issue 18): each registration's
# state (waiting for its directory, scanning while a count is partial,
# watching), 100 columns unless the terminal is wider, the time-to-limit
# forecast in the table, colour only on a terminal whose TERM is not dumb
# and never with NO_COLOR.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
LONG="$T/a-rather-long-directory-name-for-the-application-logs-of-this-service/and-below-it"
mkdir -p "$LONG"
mkfiles "$LONG" f 3
ctl_daemon <<EOC
[cleanup "frontend-logs-in-production-eu-west-1"]
directory = $LONG
max_files = 1000

[cleanup "later"]
directory = $T/not-yet
max_files = 5
EOC
wait_until sh -c "'$HKCTL' -s '$S' --json status | jq -e 'all(.[]; .state != \"scanning\")' >/dev/null" ||
	fail "still scanning"

# the state, in the table
ctl --json status | jq -e '.[] | select(.name == "later") | .state == "waiting"' >/dev/null ||
	fail "a missing directory is not 'waiting': $(ctl --json status)"
ctl status >"$T/st" || fail "status"
grep -Eq '^later +waiting ' "$T/st" || fail "the table has no state: $(cat "$T/st")"
grep -Eq '^frontend.* watching ' "$T/st" || fail "no 'watching': $(cat "$T/st")"
head -3 "$T/st" | grep -q 'STATE' || fail "no STATE column"
# a job's waiting registrations show in the jobs table (a list in JSON)
ctl run --dry-run >/dev/null || fail "run"
ctl jobs | grep -q '1 waiting' || fail "jobs does not show the waiting registration: $(ctl jobs)"
# 100 columns when not on a terminal (and COLUMNS is not wider)
awk 'length > 100 { bad = 1; print "too wide (" length "): " $0 } END { exit bad }' "$T/st" ||
	fail "status is wider than 100 columns"
COLUMNS=300 "$HKCTL" -s "$S" status >"$T/st.wide" || fail "status COLUMNS=300"
grep -q -- "$LONG" "$T/st.wide" || fail "a wide terminal still cuts the directory: $(cat "$T/st.wide")"
grep -q "frontend-logs-in-production-eu-west-1" "$T/st.wide" ||
	fail "a wide terminal still cuts the name"
COLUMNS=40 "$HKCTL" -s "$S" status >"$T/st.narrow" || fail "status COLUMNS=40"
awk 'length > 100 { exit 1 }' "$T/st.narrow" || fail "COLUMNS=40: wider than 100"

# the forecast: growth is measured between status calls 10 s apart
ctl status >/dev/null
i=0
while [ $i -lt 100 ]; do : >"$LONG/new$i"; i=$((i + 1)); done
sleep 11
ctl --json status | jq -e '.[] | select(.name | startswith("frontend")) |
	(.seconds_to_files_limit | type) == "number"' >/dev/null ||
	fail "no forecast after 100 files in 11 s: $(ctl --json status)"
ctl status >"$T/st2"
grep -q 'AT LIMIT' "$T/st2" || fail "no forecast column: $(cat "$T/st2")"
grep -E '^frontend' "$T/st2" | grep -Eq ' in [0-9]+[smhd] ' ||
	fail "the forecast is not in the table: $(cat "$T/st2")"

# colour: only on a terminal whose TERM is not dumb, never with NO_COLOR
tty_status() {   # tty_status TERM NO_COLOR: status on a pty, the bytes it printed
	python3 - "$HKCTL" "$S" "$1" "$2" <<'EOP'
import os, pty, sys
ctl, sock, term, nocolor = sys.argv[1:5]
env = dict(os.environ)
env.pop("NO_COLOR", None)
env.pop("COLUMNS", None)
if term: env["TERM"] = term
else: env.pop("TERM", None)
if nocolor: env["NO_COLOR"] = nocolor
pid, fd = pty.fork()
if pid == 0:
    argv = [ctl, "-s", sock, "status"]
    with open(ctl, "rb") as f:
        if f.read(2) == b"#!":   # the libtool wrapper: a shell script
            argv = ["/bin/sh"] + argv
    os.execve(argv[0], argv, env)
out = b""
while True:
    try:
        b = os.read(fd, 65536)
    except OSError:
        break
    if not b: break
    out += b
os.waitpid(pid, 0)
sys.stdout.write(repr(out))
EOP
}
if python3 -c 'import pty' 2>/dev/null; then
	tty_status xterm "" | grep -q '\\x1b\[' || fail "no colour on an xterm: $(tty_status xterm "")"
	tty_status dumb "" | grep -q '\\x1b' && fail "colour with TERM=dumb: $(tty_status dumb "")"
	tty_status "" "" | grep -q '\\x1b' && fail "colour without TERM"
	tty_status xterm 1 | grep -q '\\x1b' && fail "colour with NO_COLOR=1"
fi

# scanning: while a first scan runs, a partial count says so
B="$T/big"
mkdir "$B"
python3 -c 'import os, sys
for i in range(100000): open(os.path.join(sys.argv[1], "b%06d" % i), "w").close()' "$B"
ctl register "$B" --max-files 1000000 --name big >/dev/null || fail "register big"
seen=0
deadline=$(($(date +%s) + HK_WAIT * 3))
while [ "$(date +%s)" -lt "$deadline" ]; do
	ctl status >"$T/st3" 2>/dev/null || continue
	row=$(grep -E '^big ' "$T/st3" || :)
	[ -n "$row" ] || continue
	n=$(echo "$row" | awk '{ print $3 }' | cut -d/ -f1)
	[ "$n" = 100000 ] && break
	echo "$row" | grep -q ' scanning ' || fail "a partial count ($n) does not say scanning: $row"
	seen=$((seen + 1))
done
[ "$n" = 100000 ] || fail "the scan did not end: $(cat "$T/st3")"
echo "partial counts seen while scanning: $seen"
exit 0
