"""AsyncClient: the asyncio client of the housekeeper daemon."""

from __future__ import annotations

import asyncio
from typing import Any, Callable, Optional, Tuple

from . import protocol
from ._api import Api, Request
from .client import DEFAULT_TIMEOUT, client_settings, connect_error, reply_deadline
from .errors import DaemonUnavailable, HousekeeperError, ProtocolError, Timeout

__all__ = ["AsyncClient"]

_Stream = Tuple[asyncio.StreamReader, asyncio.StreamWriter]


class _Lost(Exception):
    def __init__(self, got: int, why: str) -> None:
        super().__init__(why)
        self.got = got
        self.why = why


class AsyncClient(Api):
    """The asyncio client of housekeeperd's control socket: the methods of
    Client (the seed's SchedulerService calls register_cleanup,
    update_cleanup_config, remove_cleanup_config, get_cleanup_configs,
    run_cleanup, and the others), each returning an awaitable.

    Args:
        socket_path: as for Client ($HOUSEKEEPER_SOCKET, else
            /run/housekeeper/housekeeper.sock).
        timeout: seconds any call may take, except the wait for a job.

    Calls on one client are serialized on its connection; run_cleanup and
    wait_job use a connection of their own, so other calls go on while a
    job runs. A call that is cancelled closes the connection it used (the
    next call opens a new one). Use it from one event loop.

    Example::

        async with housekeeper.AsyncClient() as hk:
            rid = await hk.register_cleanup("/var/log/myapp", pattern="*.log",
                                            retention_days=30)
            report = await hk.run_cleanup(rid, dry_run=True)
    """

    def __init__(self, socket_path: Optional[str] = None,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.socket_path, self.timeout = client_settings(socket_path, timeout)
        self._stream: Optional[_Stream] = None
        self._lock: Optional[asyncio.Lock] = None
        self._next_id = 0

    def __repr__(self) -> str:
        return "<housekeeper.AsyncClient %s%s>" % (self.socket_path,
                                                   "" if self._stream else " (not connected)")

    async def __aenter__(self) -> "AsyncClient":
        await self.connect()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def _get_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def connect(self) -> "AsyncClient":
        """Open the connection now (else the first call does). Raises
        DaemonUnavailable when no daemon listens, PermissionDenied,
        Timeout."""
        async with self._get_lock():
            if self._stream is None:
                self._stream = await self._open()
        return self

    async def close(self) -> None:
        """Close the connection (a later call opens a new one)."""
        async with self._get_lock():
            await self._drop()

    # -- transport --------------------------------------------------------------------

    async def _open(self) -> _Stream:
        try:
            return await asyncio.wait_for(asyncio.open_unix_connection(self.socket_path),
                                          self.timeout)
        except asyncio.TimeoutError:
            raise Timeout("%s: no connection within %g s" % (self.socket_path, self.timeout),
                          name="ETIMEDOUT") from None
        except OSError as e:
            raise connect_error(self.socket_path, e) from None

    @staticmethod
    async def _close_stream(stream: _Stream) -> None:
        writer = stream[1]
        writer.close()
        try:
            await writer.wait_closed()
        except (OSError, asyncio.CancelledError):
            pass

    async def _drop(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await self._close_stream(stream)

    async def _read(self, reader: asyncio.StreamReader, n: int, got: int) -> bytes:
        try:
            return await reader.readexactly(n)
        except asyncio.IncompleteReadError as e:
            raise _Lost(got + len(e.partial), "connection closed by the daemon") from None
        except (ConnectionResetError, BrokenPipeError) as e:
            raise _Lost(got, str(e)) from None

    async def _read_frame(self, reader: asyncio.StreamReader, sent_error: Optional[str]) -> bytes:
        try:
            header = await self._read(reader, 4, 0)
        except _Lost:
            if sent_error:
                raise _Lost(0, sent_error) from None
            raise
        return await self._read(reader, protocol.decode_length(header), 4)

    async def _perform(self, stream: _Stream, req: Request, req_id: int, frame: bytes) -> Any:
        """Send frame (within the timeout) and read the answer (within
        reply_deadline: for a job, however long it runs)."""
        reader, writer = stream
        sent_error = None
        wait = reply_deadline(req, self.timeout)
        try:
            try:
                writer.write(frame)
                await asyncio.wait_for(writer.drain(), self.timeout)
            except (BrokenPipeError, ConnectionResetError) as e:
                sent_error = str(e)   # a refusal frame may still be there to read
            if wait is None:
                payload = await self._read_frame(reader, sent_error)
            else:
                payload = await asyncio.wait_for(self._read_frame(reader, sent_error), wait)
        except asyncio.TimeoutError:
            raise Timeout("%s: no answer within %g s" % (req.op, self.timeout),
                          name="ETIMEDOUT") from None
        return protocol.decode_response(payload, req_id)

    def _lost(self, req: Request, lost: _Lost) -> DaemonUnavailable:
        return DaemonUnavailable("%s: connection to the daemon lost (%s)" % (req.op, lost.why),
                                 name="HK_ENODAEMON")

    async def _call_async(self, build: Callable[[], Request]) -> Any:
        req = build()
        self._next_id += 1
        req_id = self._next_id
        frame = protocol.encode_request(req_id, req.op, req.args)
        if req.own_connection:
            stream = await self._open()
            try:
                return req.post(await self._perform(stream, req, req_id, frame))
            except _Lost as lost:
                raise self._lost(req, lost) from None
            except HousekeeperError:
                raise
            except OSError as e:
                raise DaemonUnavailable("%s: %s" % (req.op, e), name="HK_ENODAEMON") from None
            finally:
                await self._close_stream(stream)
        async with self._get_lock():
            for attempt in (1, 2):
                if self._stream is not None and self._stream[0].at_eof():
                    await self._drop()
                if self._stream is None:
                    self._stream = await self._open()
                try:
                    result = await self._perform(self._stream, req, req_id, frame)
                    break
                except _Lost as lost:
                    await self._drop()
                    if lost.got == 0 and req.retry and attempt == 1:
                        continue
                    raise self._lost(req, lost) from None
                except (Timeout, ProtocolError):
                    await self._drop()
                    raise
                except HousekeeperError:
                    raise
                except OSError as e:
                    await self._drop()
                    raise DaemonUnavailable("%s: %s" % (req.op, e), name="HK_ENODAEMON") from None
                except asyncio.CancelledError:
                    # the answer may still come: the stream is out of step
                    await self._drop()
                    raise
        return req.post(result)

    def _call(self, build: Callable[[], Request]) -> Any:
        return self._call_async(build)
