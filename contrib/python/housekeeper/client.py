"""Client: the blocking client of the housekeeper daemon."""

from __future__ import annotations

import errno
import os
import select
import socket
import threading
import time
from typing import Any, Callable, Optional, Tuple

from . import protocol
from ._api import Api, Request
from .errors import (DaemonUnavailable, HousekeeperError, InvalidArgument, PermissionDenied,
                     ProtocolError, Timeout)

__all__ = ["Client", "DEFAULT_TIMEOUT"]

#: Seconds a call may take (connecting, sending, the answer), except the
#: wait for a job (run_cleanup, wait_job), which takes as long as the job.
DEFAULT_TIMEOUT = 5.0

_GONE = (errno.ENOENT, errno.ECONNREFUSED, errno.ENOTDIR, errno.ENOTSOCK, errno.ECONNRESET)


class _Lost(Exception):
    """The connection ended; got: reply bytes that had arrived."""

    def __init__(self, got: int, why: str) -> None:
        super().__init__(why)
        self.got = got
        self.why = why


def connect_error(path: str, e: OSError) -> HousekeeperError:
    """The client's exception for an OSError of connecting to path."""
    if isinstance(e, PermissionError):
        return PermissionDenied("%s: permission denied (the socket is mode 0660, group "
                                "[daemon] control_group)" % path, name="EACCES")
    if e.errno in _GONE:
        why = "no socket" if e.errno in (errno.ENOENT, errno.ENOTDIR) else os.strerror(e.errno)
        return DaemonUnavailable("no housekeeper daemon at %s (%s)" % (path, why),
                                 name="HK_ENODAEMON")
    if e.errno == errno.ENAMETOOLONG or "too long" in str(e):
        return InvalidArgument("%s: socket path too long" % path, name="ENAMETOOLONG")
    return DaemonUnavailable("cannot connect to %s: %s" % (path, e), name="HK_ENODAEMON")


def client_settings(socket_path: Any, timeout: Any) -> Tuple[str, float]:
    """The socket path (the argument, else $HOUSEKEEPER_SOCKET, else the
    default) and the checked timeout of a new client."""
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise InvalidArgument("timeout: expected a positive number of seconds")
    path = os.fspath(socket_path) if socket_path else protocol.default_socket_path()
    return os.fsdecode(path), float(timeout)


def reply_deadline(req: Request, timeout: float) -> Optional[float]:
    """Seconds the answer to req may take: None for however long its job
    runs."""
    if req.wait is None:
        return None
    if req.wait is False:
        return timeout
    return float(req.wait) + timeout


class Client(Api):
    """A blocking client of housekeeperd's control socket.

    Args:
        socket_path: the daemon's control socket; None: $HOUSEKEEPER_SOCKET
            when set and not empty, else /run/housekeeper/housekeeper.sock.
        timeout: seconds any call may take, except that run_cleanup and
            wait_job wait for their job as long as it runs (the timeout
            bounds connecting and sending only).

    The connection is opened at the first call (or by connect() / the with
    statement, which raise DaemonUnavailable at once when no daemon
    listens) and re-opened once, transparently, when the daemon closed it
    (idle connections of users other than root are closed after 30 s, a
    restarted daemon). Calls from several threads are serialized; a run or
    wait for a job uses a connection of its own, so the others go on
    meanwhile. Not to be shared across fork().

    Example::

        with housekeeper.Client() as hk:
            rid = hk.register_cleanup("/var/log/myapp", pattern="*.log",
                                      retention_days=30, max_files=100)
    """

    def __init__(self, socket_path: Optional[str] = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.socket_path, self.timeout = client_settings(socket_path, timeout)
        self._sock: Optional[socket.socket] = None
        self._lock = threading.Lock()
        self._id_lock = threading.Lock()
        self._next_id = 0

    def __repr__(self) -> str:
        return "<housekeeper.Client %s%s>" % (self.socket_path,
                                              "" if self._sock else " (not connected)")

    def __enter__(self) -> "Client":
        self.connect()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def connect(self) -> "Client":
        """Open the connection now (else the first call does). Raises
        DaemonUnavailable when no daemon listens, PermissionDenied,
        Timeout."""
        with self._lock:
            if self._sock is None:
                self._sock = self._open()
        return self

    def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        with self._lock:
            self._drop()

    # -- transport --------------------------------------------------------------------

    def _open(self) -> socket.socket:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        s.settimeout(self.timeout)
        try:
            s.connect(self.socket_path)
        except socket.timeout:
            s.close()
            raise Timeout("%s: no connection within %g s" % (self.socket_path, self.timeout),
                          name="ETIMEDOUT") from None
        except OSError as e:
            s.close()
            raise connect_error(self.socket_path, e) from None
        return s

    def _drop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def _new_id(self) -> int:
        with self._id_lock:
            self._next_id += 1
            return self._next_id

    @staticmethod
    def _stale(s: socket.socket) -> bool:
        """Has the daemon closed the idle connection (or sent what we did
        not ask for)? Then it cannot carry a request."""
        try:
            readable, _, _ = select.select([s], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def _recv_exact(self, s: socket.socket, n: int, deadline: Optional[float],
                    got: int) -> Tuple[bytes, int]:
        chunks = []
        while n > 0:
            if deadline is None:
                s.settimeout(None)
            else:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise socket.timeout()
                s.settimeout(left)
            try:
                chunk = s.recv(min(n, 1 << 20))
            except (ConnectionResetError, BrokenPipeError) as e:
                raise _Lost(got, str(e)) from None
            if not chunk:
                raise _Lost(got, "connection closed by the daemon")
            chunks.append(chunk)
            n -= len(chunk)
            got += len(chunk)
        return b"".join(chunks), got

    def _exchange(self, s: socket.socket, frame: bytes, wait: Optional[float]) -> bytes:
        """Send frame on s and read one response payload."""
        sent_error: Optional[str] = None
        s.settimeout(self.timeout)
        try:
            s.sendall(frame, socket.MSG_NOSIGNAL)
        except (BrokenPipeError, ConnectionResetError) as e:
            # a daemon refusing the connection (too many clients) sends
            # one error frame and closes before reading: read it
            sent_error = str(e)
        deadline = None if wait is None else time.monotonic() + wait
        try:
            header, got = self._recv_exact(s, 4, deadline, 0)
        except _Lost as lost:
            if sent_error:
                raise _Lost(0, sent_error) from None
            raise lost
        payload, _ = self._recv_exact(s, protocol.decode_length(header), deadline, got)
        return payload

    def _perform(self, s: socket.socket, req: Request, req_id: int, frame: bytes) -> Any:
        try:
            payload = self._exchange(s, frame, reply_deadline(req, self.timeout))
        except socket.timeout:
            raise Timeout("%s: no answer within %g s" % (req.op, self.timeout),
                          name="ETIMEDOUT") from None
        return protocol.decode_response(payload, req_id)

    def _call(self, build: Callable[[], Request]) -> Any:
        req = build()
        req_id = self._new_id()
        frame = protocol.encode_request(req_id, req.op, req.args)
        if req.own_connection:
            s = self._open()
            try:
                return req.post(self._perform(s, req, req_id, frame))
            except _Lost as lost:
                raise DaemonUnavailable("%s: connection to the daemon lost (%s)"
                                        % (req.op, lost.why), name="HK_ENODAEMON") from None
            except HousekeeperError:
                raise
            except OSError as e:
                raise DaemonUnavailable("%s: %s" % (req.op, e), name="HK_ENODAEMON") from None
            finally:
                s.close()
        with self._lock:
            for attempt in (1, 2):
                if self._sock is not None and self._stale(self._sock):
                    self._drop()
                if self._sock is None:
                    self._sock = self._open()
                try:
                    result = self._perform(self._sock, req, req_id, frame)
                    break
                except _Lost as lost:
                    self._drop()
                    # closed before it read us: once more (not a request
                    # that may have started a job)
                    if lost.got == 0 and req.retry and attempt == 1:
                        continue
                    raise DaemonUnavailable("%s: connection to the daemon lost (%s)"
                                            % (req.op, lost.why), name="HK_ENODAEMON") from None
                except (Timeout, ProtocolError):
                    self._drop()    # the stream cannot be trusted any more
                    raise
                except HousekeeperError:
                    raise           # the daemon's answer: the stream is in step
                except OSError as e:
                    self._drop()
                    raise DaemonUnavailable("%s: %s" % (req.op, e), name="HK_ENODAEMON") from None
        return req.post(result)
