"""hkproto.py: the control protocol's framing for the tests' Python helpers
(jobs.py, tests/security/conns.py): a 4-byte big-endian length, then the
JSON request or response."""
import json
import struct


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def exchange(s, req_id, op, args):
    """Send one request on the connected socket s and return its response."""
    req = json.dumps({"v": 1, "id": req_id, "op": op, "args": args}).encode()
    s.sendall(struct.pack(">I", len(req)) + req)
    (length,) = struct.unpack(">I", recv_exact(s, 4))
    return json.loads(recv_exact(s, length))
