"""The daemon's control protocol, without I/O (used by both clients).

Transport: a Unix stream socket. Every message in both directions is a
frame: a 4-byte big-endian payload length, then that many bytes of one
UTF-8 JSON object (src/proto.h of the daemon)::

    request   {"v": 1, "id": N, "op": "register_cleanup", "args": {...}}
    success   {"v": 1, "id": N, "ok": true, "result": ...}
    failure   {"v": 1, "id": N, "ok": false,
               "error": {"code": -1002, "name": "HK_ENOTFOUND",
                         "message": "...", "details": ...}}

Byte strings (paths, patterns, descriptions) that are not valid UTF-8 travel
twice: KEY holds a readable, lossy form and KEY_b64 the exact bytes in
base64. This module sends str with surrogate escapes (os.fsdecode of
undecodable names) and bytes that way, and turns KEY_b64 in answers back
into str with surrogate escapes, so values round-trip through os.* calls.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from typing import Any, Dict, Mapping, Optional

from .errors import InvalidArgument, ProtocolError, error_from_reply

__all__ = [
    "PROTOCOL_VERSION",
    "DEFAULT_SOCKET",
    "SOCKET_ENV",
    "default_socket_path",
    "encode_request",
    "decode_length",
    "decode_response",
    "registration_args",
    "update_args",
    "registration_from_wire",
]

PROTOCOL_VERSION = 1
HEADER = struct.Struct(">I")
MAX_REQUEST = 1024 * 1024
MAX_RESPONSE = 64 * 1024 * 1024

#: The daemon's default socket as installed by the Debian package and the
#: systemd unit (configure --runstatedir=/run); a daemon built with another
#: runstatedir listens at $runstatedir/housekeeper/housekeeper.sock.
DEFAULT_SOCKET = "/run/housekeeper/housekeeper.sock"
#: The environment variable naming the socket (as for housekeeperctl and
#: libhousekeeper).
SOCKET_ENV = "HOUSEKEEPER_SOCKET"

DAY = 86400
MIB = 1024 * 1024

# The byte-string fields of a registration's args (proto_records.c; exclude
# is a list of them).
_BYTE_FIELDS = ("name", "directory", "pattern", "description", "schedule")


def default_socket_path() -> str:
    """$HOUSEKEEPER_SOCKET when set and not empty, else DEFAULT_SOCKET."""
    return os.environ.get(SOCKET_ENV) or DEFAULT_SOCKET


# Framing -----------------------------------------------------------------------

def encode_request(req_id: int, op: str, args: Optional[Mapping[str, Any]]) -> bytes:
    """The frame of one request."""
    msg = {"v": PROTOCOL_VERSION, "id": req_id, "op": op, "args": dict(args or {})}
    try:
        payload = json.dumps(msg, ensure_ascii=False, allow_nan=False,
                             separators=(",", ":")).encode("utf-8")
    except (TypeError, ValueError, UnicodeEncodeError) as e:
        raise InvalidArgument("%s: arguments cannot be sent: %s" % (op, e)) from None
    if len(payload) > MAX_REQUEST:
        raise InvalidArgument("%s: request of %d bytes is larger than the protocol's %d"
                              % (op, len(payload), MAX_REQUEST))
    return HEADER.pack(len(payload)) + payload


def decode_length(header: bytes) -> int:
    """The payload length of a response frame header (4 bytes)."""
    (n,) = HEADER.unpack(header)
    if n > MAX_RESPONSE:
        raise ProtocolError("response of %d bytes announced, more than the protocol's %d"
                            % (n, MAX_RESPONSE))
    return n


def decode_response(payload: bytes, expect_id: int) -> Any:
    """The result of a response payload to request expect_id; raises the
    daemon's error as a HousekeeperError subclass."""
    try:
        msg = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ProtocolError("malformed response: %s" % e) from None
    if not isinstance(msg, dict):
        raise ProtocolError("malformed response: not a JSON object")
    if msg.get("v") != PROTOCOL_VERSION:
        raise ProtocolError("response of protocol version %r, expected %d"
                            % (msg.get("v"), PROTOCOL_VERSION))
    ok = msg.get("ok")
    if ok is False:
        # a refusal the daemon sent before reading us (too many
        # connections) or an unreadable request carries id null
        if msg.get("id") not in (expect_id, None):
            raise ProtocolError("response to request %r, expected %d" % (msg.get("id"), expect_id))
        raise error_from_reply(msg.get("error"))
    if ok is not True or msg.get("id") != expect_id:
        raise ProtocolError("malformed response (ok %r, id %r; expected id %d)"
                            % (ok, msg.get("id"), expect_id))
    return from_wire(msg.get("result"))


# Byte strings -------------------------------------------------------------------

def to_bytes(value: Any, key: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
        if isinstance(value, bytes):
            return value
    if isinstance(value, str):
        return os.fsencode(value)
    raise InvalidArgument("%s: expected a string, not %s" % (key, type(value).__name__))


def set_bytes(args: Dict[str, Any], key: str, value: Any) -> None:
    """args[key] = value as the protocol's byte string (KEY and KEY_b64)."""
    raw = to_bytes(value, key)
    if b"\0" in raw:
        raise InvalidArgument("%s: contains a NUL byte" % key)
    try:
        args[key] = raw.decode("utf-8")
    except UnicodeDecodeError:
        args[key] = raw.replace(b"\\", b"\\x5c").decode("utf-8", "backslashreplace")
        args[key + "_b64"] = base64.b64encode(raw).decode("ascii")


def _set_byte_list(args: Dict[str, Any], key: str, values: Any) -> None:
    if isinstance(values, (str, bytes, os.PathLike)):
        values = [values]
    shown, b64, any_b64 = [], [], False
    for v in values:
        tmp: Dict[str, Any] = {}
        set_bytes(tmp, key, v)
        shown.append(tmp[key])
        any_b64 |= key + "_b64" in tmp
        b64.append(base64.b64encode(to_bytes(v, key)).decode("ascii"))
    args[key] = shown
    if any_b64:
        args[key + "_b64"] = b64


def _decode_b64(value: str) -> str:
    try:
        return os.fsdecode(base64.b64decode(value, validate=True))
    except (ValueError, TypeError) as e:
        raise ProtocolError("malformed base64 in the response: %s" % e) from None


def from_wire(value: Any) -> Any:
    """value with every KEY_b64 of its objects folded into KEY (as str with
    surrogate escapes), recursively."""
    if isinstance(value, list):
        return [from_wire(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for k, v in value.items():
        if k.endswith("_b64") and k[:-4] in value:
            continue
        out[k] = from_wire(v)
    for k, v in value.items():
        if not k.endswith("_b64"):
            continue
        base = k[:-4]
        if isinstance(v, list):
            out[base] = [_decode_b64(x) if isinstance(x, str) and x else y
                         for x, y in zip(v, out.get(base) or [None] * len(v))]
        elif isinstance(v, str):
            out[base] = _decode_b64(v)
    return out


# Registrations ------------------------------------------------------------------

def _number(value: Any, key: str) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgument("%s: expected a number, not %r" % (key, value))
    return value


def _seconds(days: Any, key: str) -> Any:
    """days (the seed's retention_days) in seconds; the daemon checks the
    range."""
    d = _number(days, key)
    return int(round(d * DAY))


def _bytes_of_mib(mib: Any, key: str) -> Any:
    m = _number(mib, key)
    return int(round(m * MIB))


def _field_args(fields: Mapping[str, Any], for_update: bool) -> Dict[str, Any]:
    """The protocol's args for the fields given. The seed's names
    retention_days (days) and max_size_mb (MiB) become retention (seconds)
    and max_size (bytes); the daemon's own names pass as they are
    (retention and max_size also take "30d" / "500M"). For an update None
    resets a field to its default (no limit); for a registration a None
    field is simply not given (its default)."""
    args: Dict[str, Any] = {}
    aliases = {"retention_days": "retention", "max_size_mb": "max_size"}
    for alias, key in aliases.items():
        if alias in fields and key in fields:
            raise InvalidArgument("give %s or %s, not both" % (alias, key))
    for k, v in fields.items():
        key = aliases.get(k, k)
        if v is None:
            if for_update:
                args[key] = None
            continue
        if k == "retention_days":
            v = _seconds(v, k)
        elif k == "max_size_mb":
            v = _bytes_of_mib(v, k)
        if key in _BYTE_FIELDS:
            set_bytes(args, key, v)
        elif key == "exclude":
            _set_byte_list(args, key, v)
        elif key == "age_by" and not isinstance(v, str):
            args[key] = list(v)
        elif key == "low_watermark" and isinstance(v, (int, float)) \
                and not isinstance(v, bool):
            args[key] = "%g%%" % v          # 80 -> "80%", as the INI writes it
        else:
            # the daemon checks each value, and names a field it does not know
            args[key] = v
    return args


def registration_args(directory: Any, pattern: Any, retention_days: Any, max_files: Any,
                      max_size_mb: Any, priority: Any, description: Any,
                      options: Mapping[str, Any]) -> Dict[str, Any]:
    """The args of register_cleanup for the seed's parameters and the
    daemon's further fields (exclude, recursive, age_by, schedule, name,
    retention / max_size in the daemon's own units, ...)."""
    if directory is None:
        raise InvalidArgument("directory: required")
    fields: Dict[str, Any] = {"directory": directory, "pattern": pattern,
                              "max_files": max_files, "priority": priority,
                              "description": description}
    if retention_days is not None or "retention" not in options:
        fields["retention_days"] = retention_days
    if max_size_mb is not None or "max_size" not in options:
        fields["max_size_mb"] = max_size_mb
    for k in options:
        if k in ("directory", "pattern", "max_files", "priority", "description",
                 "retention_days", "max_size_mb"):
            raise InvalidArgument("%s: given twice" % k)
    fields.update(options)
    return _field_args(fields, for_update=False)


def update_args(registration_id: str, updates: Mapping[str, Any]) -> Dict[str, Any]:
    """The args of update_cleanup_config: the id and the fields to change."""
    if not isinstance(registration_id, str) or not registration_id:
        raise InvalidArgument("registration_id: expected an id or name")
    if not updates:
        raise InvalidArgument("update_cleanup_config: no field to change")
    if "id" in updates:
        raise InvalidArgument("id: cannot be changed")
    args = _field_args(updates, for_update=True)
    args["id"] = registration_id
    return args


def _in_units(value: Any, unit: int) -> Any:
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    return value // unit if value % unit == 0 else value / unit


def registration_from_wire(reg: Any) -> Dict[str, Any]:
    """A registration as the daemon lists it, plus the seed's
    retention_days and max_size_mb (int when whole, else float; None when
    unset)."""
    if not isinstance(reg, dict) or not isinstance(reg.get("id"), str):
        raise ProtocolError("malformed registration in the response: %r" % (reg,))
    out = dict(reg)
    out["retention_days"] = _in_units(reg.get("retention"), DAY)
    out["max_size_mb"] = _in_units(reg.get("max_size"), MIB)
    return out
