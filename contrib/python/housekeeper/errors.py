"""The exceptions of the housekeeper client.

Every exception the client raises is a :class:`HousekeeperError`. An error
the daemon reported carries its ``code`` (``-errno`` or one of the
``HK_E*`` codes of ``include/housekeeper.h``), its symbolic ``name``
(``"HK_ENOTFOUND"``, ``"EINVAL"``), its ``message`` (the daemon's own
words, also ``str(exc)``) and ``details`` (the optional structured part,
e.g. the list of configuration errors of a refused reload)::

    HousekeeperError
    +-- DaemonUnavailable   no daemon at the socket (also a ConnectionError)
    +-- Timeout             no answer in time (also a TimeoutError)
    +-- ProtocolError       a malformed answer, or a request the daemon
    |                       could not parse
    +-- NotFound            no such registration or job (also a LookupError)
    +-- InvalidArgument     bad arguments: HK_ECONFIG, HK_ESYSDIR, EINVAL
    |                       (also a ValueError)
    +-- Refused             the daemon refused the request
        +-- PermissionDenied  HK_EDENIED, EACCES, EPERM (also a PermissionError)
        +-- ReadOnly          housekeeper_read_only forbids real runs
        +-- ConfigSource      the registration comes from a configuration
        |                     file: change that file instead
        +-- Busy              rate limited or busy: try again later
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = [
    "HousekeeperError",
    "DaemonUnavailable",
    "Timeout",
    "ProtocolError",
    "NotFound",
    "InvalidArgument",
    "Refused",
    "PermissionDenied",
    "ReadOnly",
    "ConfigSource",
    "Busy",
    "error_from_reply",
]

# The codes of include/housekeeper.h (enum hk_error).
HK_ECONFIG = -1001
HK_ENOTFOUND = -1002
HK_EREADONLY = -1003
HK_EPROTO = -1004
HK_ENODAEMON = -1005
HK_EDENIED = -1006
HK_ESOURCE = -1007
HK_ESTORE = -1008
HK_ECLOCK = -1009
HK_ESYSDIR = -1010
HK_ECHANGED = -1011
HK_EBUSY = -1012


class HousekeeperError(Exception):
    """Base class of every error of the client.

    Attributes:
        message: human-readable text (the daemon's message when it sent one).
        code: the daemon's error code (negative), or None for an error found
            by the client itself.
        name: the code's symbolic name ("HK_ENOTFOUND", "EINVAL") or None.
        details: structured details the daemon added, or None.
    """

    def __init__(self, message: str, code: Optional[int] = None,
                 name: Optional[str] = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.name = name
        self.details = details

    def __str__(self) -> str:
        return self.message


class DaemonUnavailable(HousekeeperError, ConnectionError):
    """No daemon answers at the socket: it is missing, refuses connections,
    or the connection was lost before the answer came."""


class Timeout(HousekeeperError, TimeoutError):
    """The daemon did not answer within the client's timeout."""


class ProtocolError(HousekeeperError):
    """The answer was malformed, or the daemon could not parse the request."""


class NotFound(HousekeeperError, LookupError):
    """No registration (or job) with that id or name."""


class InvalidArgument(HousekeeperError, ValueError):
    """The arguments are invalid; ``message`` says which and why."""


class Refused(HousekeeperError):
    """The daemon understood the request and refused it."""


class PermissionDenied(Refused, PermissionError):
    """The caller may not do this (another user's registration, a directory
    it does not own, root-only operations, or the socket's permissions)."""


class ReadOnly(Refused):
    """housekeeper_read_only is set: nothing is deleted, real runs are
    refused."""


class ConfigSource(Refused):
    """The registration comes from a configuration file; it is changed by
    editing that file (the message names it), not through the API."""


class Busy(Refused):
    """The daemon is busy or the caller is rate limited; try again later."""


_BY_NAME = {
    "HK_ECONFIG": InvalidArgument,
    "HK_ESYSDIR": InvalidArgument,
    "EINVAL": InvalidArgument,
    "ENAMETOOLONG": InvalidArgument,
    "HK_ENOTFOUND": NotFound,
    "HK_EDENIED": PermissionDenied,
    "EACCES": PermissionDenied,
    "EPERM": PermissionDenied,
    "HK_EREADONLY": ReadOnly,
    "HK_ESOURCE": ConfigSource,
    "HK_EBUSY": Busy,
    "HK_ECLOCK": Refused,
    "HK_EPROTO": ProtocolError,
    "HK_ENODAEMON": DaemonUnavailable,
    "ETIMEDOUT": Timeout,
}

_BY_CODE = {
    HK_ECONFIG: InvalidArgument,
    HK_ESYSDIR: InvalidArgument,
    -22: InvalidArgument,       # EINVAL
    HK_ENOTFOUND: NotFound,
    HK_EDENIED: PermissionDenied,
    -13: PermissionDenied,      # EACCES
    -1: PermissionDenied,       # EPERM
    HK_EREADONLY: ReadOnly,
    HK_ESOURCE: ConfigSource,
    HK_EBUSY: Busy,
    HK_ECLOCK: Refused,
    HK_EPROTO: ProtocolError,
    HK_ENODAEMON: DaemonUnavailable,
}


def error_from_reply(error: Any) -> HousekeeperError:
    """The exception for the daemon's error object
    ``{"code": N, "name": "...", "message": "...", "details": ...}``."""
    if not isinstance(error, dict):
        return ProtocolError("malformed error reply from the daemon: %r" % (error,))
    code = error.get("code")
    name = error.get("name")
    message = error.get("message")
    if not isinstance(code, int) or isinstance(code, bool):
        code = None
    if not isinstance(name, str):
        name = None
    if not isinstance(message, str) or not message:
        message = "%s (code %s)" % (name or "error", code)
    cls = _BY_NAME.get(name) if name else None
    if cls is None and code is not None:
        cls = _BY_CODE.get(code)
    return (cls or HousekeeperError)(message, code=code, name=name,
                                     details=error.get("details"))
