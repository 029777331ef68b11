#!/usr/bin/env python3
"""conns.py: many connections or requests to the control socket, for
s-socket-fairness.sh.

conns.py hold SOCKET N OUT MAXWAIT: opens N connections at once and tells the accepted ones from the refused
ones (a refused connection gets an error frame and end of file at once).
Writes "accepted K refused R" to OUT.status, then holds the accepted ones
without sending anything until the daemon has closed all of them or
MAXWAIT seconds have passed, and writes one line per accepted connection
to OUT: "closed SECONDS" (after its connect) or "open".

conns.py runs SOCKET ID N: asks for N dry runs of registration ID, one
after the other on one connection, as fast as the answers come; prints
"ok K limited L other O" (limited: refused with HK_EBUSY, "rate limited").
"""
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "integration"))
from hkproto import exchange  # noqa: E402

HK_EBUSY = -1012


def runs(path, reg_id, n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    ok = limited = other = 0
    for i in range(n):
        resp = exchange(s, i + 1, "run_cleanup", {"id": reg_id, "dry_run": True})
        err = resp.get("error") or {}
        if resp.get("ok"):
            ok += 1
        elif err.get("code") == HK_EBUSY and "rate limited" in err.get("message", ""):
            limited += 1
        else:
            other += 1
            print("run %d: %s" % (i + 1, resp), file=sys.stderr)
    print("ok %d limited %d other %d" % (ok, limited, other))


def write(name, text):
    with open(name + ".tmp", "w") as f:
        f.write(text)
    os.rename(name + ".tmp", name)


if sys.argv[1] == "runs":
    runs(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    sys.exit(0)
path, n, out, maxwait = sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
conns = []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    conns.append((s, time.monotonic()))
# refusals are answered at accept: give the daemon a moment for all of them
time.sleep(1.5)
accepted, refused = [], 0
for s, t0 in conns:
    r, _, _ = select.select([s], [], [], 0)
    if r:
        s.recv(65536)
        refused += 1
        s.close()
    else:
        accepted.append((s, t0))
write(out + ".status", "accepted %d refused %d\n" % (len(accepted), refused))
closed = {}
deadline = time.monotonic() + maxwait
while len(closed) < len(accepted) and time.monotonic() < deadline:
    live = [s for s, _ in accepted if s not in closed]
    r, _, _ = select.select(live, [], [], 0.2)
    for s in r:
        if s.recv(65536) == b"":
            closed[s] = time.monotonic()
lines = []
for s, t0 in accepted:
    lines.append("closed %.1f\n" % (closed[s] - t0) if s in closed else "open\n")
write(out, "".join(lines))
