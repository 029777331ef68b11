"""The operations of the client, written once for Client and AsyncClient.

Each method describes its request (operation, arguments, how long its answer
may take, how to read the result) and hands it to self._call, which
performs it: Client returns the result, AsyncClient returns an awaitable of
it. Arguments are checked when the request is performed, so an invalid one
raises at the call of Client's method and at the await of AsyncClient's.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, NamedTuple, Optional

from . import protocol
from .errors import InvalidArgument, NotFound, ProtocolError

__all__ = ["Request", "Api"]


class Request(NamedTuple):
    """One request: op(args); result = post(answer).

    retry: may be sent again when the daemon closed an idle connection
    before reading it (never a request that starts a job).
    wait: the answer comes when a job ends: None = however long that takes,
    a number = at most that many seconds more than the client's timeout,
    False = the client's timeout.
    own_connection: performed on a connection of its own, so that the
    client's other calls go on meanwhile.
    """
    op: str
    args: Dict[str, Any]
    post: Callable[[Any], Any]
    retry: bool = True
    wait: Any = False
    own_connection: bool = False


def _same(result: Any) -> Any:
    return result


def _true(result: Any) -> bool:
    return True


def _id_of(result: Any) -> str:
    if not isinstance(result, dict) or not isinstance(result.get("id"), str):
        raise ProtocolError("register_cleanup: no id in the answer: %r" % (result,))
    return result["id"]


def _configs(result: Any) -> List[Dict[str, Any]]:
    if not isinstance(result, list):
        raise ProtocolError("get_cleanup_configs: the answer is not a list")
    return [protocol.registration_from_wire(r) for r in result]


def _dict(op: str) -> Callable[[Any], Dict[str, Any]]:
    def post(result: Any) -> Dict[str, Any]:
        if not isinstance(result, dict):
            raise ProtocolError("%s: the answer is not an object: %r" % (op, result))
        return result
    return post


def _list(op: str) -> Callable[[Any], List[Any]]:
    def post(result: Any) -> List[Any]:
        if not isinstance(result, list):
            raise ProtocolError("%s: the answer is not a list: %r" % (op, result))
        return result
    return post


def _job_id(result: Any) -> int:
    jid = result.get("job_id") if isinstance(result, dict) else None
    if not isinstance(jid, int) or isinstance(jid, bool) or jid <= 0:
        raise ProtocolError("run_cleanup: no job id in the answer: %r" % (result,))
    return jid


def _run_args(registration_id: Optional[str], dry_run: bool) -> Dict[str, Any]:
    if registration_id is not None and (not isinstance(registration_id, str) or not registration_id):
        raise InvalidArgument("registration_id: expected an id or name, or None for all")
    if not isinstance(dry_run, bool):
        raise InvalidArgument("dry_run: expected True or False")
    return {"id": registration_id, "dry_run": dry_run}


def _positive(value: Any, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise InvalidArgument("%s: expected a positive integer, not %r" % (key, value))
    return value


class Api:
    """The seed's SchedulerService calls, and the rest of the control
    protocol. See Client and AsyncClient."""

    def _call(self, build: Callable[[], Request]) -> Any:  # pragma: no cover
        raise NotImplementedError

    # -- the seed's SchedulerService calls -----------------------------------------

    def register_cleanup(self, directory: Any, pattern: Any = "*",
                         retention_days: Optional[float] = None,
                         max_files: Optional[int] = None,
                         max_size_mb: Optional[float] = None,
                         priority: int = 100,
                         description: Optional[str] = None,
                         **options: Any) -> Any:
        """Register a directory for cleanup; return its registration id.

        Idempotent: the same directory and pattern registered again by the
        same user returns the same id and replaces the registration's
        settings with the ones given (an omitted one takes its default), so
        call it with the whole spec at every start of the service. A
        registration of the same directory in a configuration file keeps
        the file's settings (its id is returned).

        Args:
            directory: absolute path (str, bytes or os.PathLike); a user
                other than root may register only a directory it owns.
            pattern: fnmatch(3) glob on the file names ("*.log", "trace_*").
            retention_days: files older than this many days are deleted
                (None: no age limit).
            max_files: keep the newest N files (None: no limit).
            max_size_mb: keep the total size under this many MiB (None: no
                limit).
            priority: lower runs first among registrations covering a file.
            description: human-readable text.
            **options: the daemon's further fields: exclude (a glob or list
                of globs never deleted), recursive (bool), age_by ("mtime",
                "atime", "ctime" or a list: the newest counts), schedule (a
                cron expression of its own sweep), name,
                allow_system_directory, and retention / max_size in the
                daemon's units (seconds or "30d"; bytes or "500M") instead
                of retention_days / max_size_mb; and the limits of SPEC 5
                as the configuration file writes them: min_free and
                free_target ("2G" or "10%", or bytes), low_watermark ("80%"
                or 80), skip_open (bool), unit ("file" or "directory"),
                remove_empty_dirs (bool, with recursive).

        A registration without any limit gets the daemon's
        housekeeper_default_retention (30 days unless configured).

        Raises:
            InvalidArgument: with the daemon's message (relative path,
                pattern with "/", a system directory, a bad value...).
            PermissionDenied: the directory is not the caller's.
            DaemonUnavailable, Timeout.
        """
        return self._call(lambda: Request(
            "register_cleanup",
            protocol.registration_args(directory, pattern, retention_days, max_files,
                                       max_size_mb, priority, description, options),
            _id_of))

    def update_cleanup_config(self, registration_id: str, **updates: Any) -> Any:
        """Change the given fields of a registration; return True.

        updates take the names of register_cleanup (pattern,
        retention_days, max_files, max_size_mb, priority, description,
        exclude, recursive, age_by, schedule, retention, max_size, min_free,
        free_target, low_watermark, skip_open, unit, remove_empty_dirs...); None
        resets a field (no limit, no description). Fields not given stay.

        Raises:
            NotFound: no registration with that id or name.
            ConfigSource: it comes from a configuration file.
            PermissionDenied: it is another user's.
            InvalidArgument: a bad value, or no field given.
        """
        return self._call(lambda: Request(
            "update_cleanup_config", protocol.update_args(registration_id, updates), _true))

    def remove_cleanup_config(self, registration_id: str) -> Any:
        """Remove a registration (its files stay); return True.

        Raises NotFound, ConfigSource, PermissionDenied as
        update_cleanup_config.
        """
        def build() -> Request:
            if not isinstance(registration_id, str) or not registration_id:
                raise InvalidArgument("registration_id: expected an id or name")
            return Request("remove_cleanup_config", {"id": registration_id}, _true)
        return self._call(build)

    def get_cleanup_configs(self) -> Any:
        """Every registration, as a list of dicts.

        Keys as the daemon sends them (housekeeperctl --json list): id,
        name, directory, pattern, exclude, retention (seconds or None),
        max_files, max_size (bytes or None), priority, description,
        recursive, age_by, schedule, min_free, free_target (strings like
        "10%" or None), low_watermark ("100%" by default), skip_open, unit,
        remove_empty_dirs, created_at, updated_at, last_run
        (epoch seconds), source ("config" or "api"), source_file,
        owner_uid...; plus the seed's retention_days and max_size_mb
        (None when unset).
        """
        return self._call(lambda: Request("get_cleanup_configs", {}, _configs))

    def run_cleanup(self, registration_id: Optional[str] = None, dry_run: bool = False) -> Any:
        """Run the cleanup of one registration (id or name), or of all
        (None: for a user other than root, a dry run of its own), and
        return the report when the job ends, however long it runs.

        dry_run: only report what would be deleted.

        The report is a dict: job_id, trigger, dry_run, started, finished,
        outcome ("ok", "failed", "timeout", "cancelled"), registrations
        (per registration: id, name, directory, scanned, selected, deleted,
        bytes, skipped, errors, ...), files (registration_id, path, size,
        mtime, reason, outcome, error), not_run and totals (registrations,
        deleted, bytes, skipped, errors). A job that failed is returned
        too: read its outcome.

        Raises:
            NotFound, PermissionDenied, ReadOnly (a real run in read-only
            mode), Busy (rate limited), DaemonUnavailable (also when the
            daemon goes away before the job ends).
        """
        return self._call(lambda: Request("run_cleanup", _run_args(registration_id, dry_run),
                                          _dict("run_cleanup"), retry=False, wait=None,
                                          own_connection=True))

    # -- jobs ------------------------------------------------------------------------

    def submit_cleanup(self, registration_id: Optional[str] = None, dry_run: bool = False) -> Any:
        """Start the same job as run_cleanup and return its job id (an int)
        at once; then see wait_job."""
        def build() -> Request:
            args = _run_args(registration_id, dry_run)
            args["no_wait"] = True
            return Request("run_cleanup", args, _job_id, retry=False)
        return self._call(build)

    def wait_job(self, job_id: int, timeout: Optional[float] = None) -> Any:
        """Wait for a job to end, at most timeout seconds (None: as long as
        it runs).

        Returns a dict: job_id, done (False when the timeout came first),
        job (its record: outcome "queued", "running", "ok", "failed",
        "timeout" or "cancelled", and the counters so far) and, when this
        wait saw the job end, report (as run_cleanup returns it).
        A user other than root may wait only for its own jobs.
        """
        def build() -> Request:
            args: Dict[str, Any] = {"job_id": _positive(job_id, "job_id")}
            if timeout is not None:
                if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
                    raise InvalidArgument("timeout: expected seconds (a non-negative number)")
                args["timeout"] = float(timeout)
            return Request("wait_job", args, _dict("wait_job"), wait=timeout,
                           own_connection=True)
        return self._call(build)

    def jobs(self, limit: Optional[int] = None) -> Any:
        """Queued and running jobs with their progress, then the history
        (newest first), as a list of dicts."""
        def build() -> Request:
            args = {} if limit is None else {"limit": _positive(limit, "limit")}
            return Request("jobs", args, _list("jobs"))
        return self._call(build)

    # -- the rest of the control protocol ----------------------------------------------

    def status(self) -> Any:
        """Per registration: files, bytes, limits, oldest file, next
        expiry, last run, reclaimed bytes (housekeeperctl --json status)."""
        return self._call(lambda: Request("status", {}, _list("status")))

    def explain(self, path: Any) -> Any:
        """Which registrations cover path (absolute), and when and why it
        will be deleted, as a dict."""
        def build() -> Request:
            args: Dict[str, Any] = {}
            if not protocol.to_bytes(path, "path").startswith(b"/"):
                raise InvalidArgument("explain: path must be absolute")
            protocol.set_bytes(args, "path", path)
            return Request("explain", args, _dict("explain"))
        return self._call(build)

    def audit(self, since: Optional[float] = None, registration_id: Optional[str] = None,
              limit: Optional[int] = None, cursor: Optional[str] = None) -> Any:
        """One page of the audit trail: {"records": [...], "next_cursor":
        str or None}; pass next_cursor back for the next page.

        since: epoch seconds; registration_id: one registration only."""
        def build() -> Request:
            args: Dict[str, Any] = {}
            if since is not None:
                args["since"] = since
            if registration_id is not None:
                args["id"] = registration_id
            if limit is not None:
                args["limit"] = _positive(limit, "limit")
            if cursor is not None:
                args["cursor"] = cursor
            return Request("audit", args, _dict("audit"))
        return self._call(build)

    def metrics(self) -> Any:
        """The Prometheus text exposition of the daemon's metrics."""
        def post(result: Any) -> str:
            if not isinstance(result, str):
                raise ProtocolError("metrics: the answer is not text")
            return result
        return self._call(lambda: Request("metrics", {}, post))

    def reload(self) -> Any:
        """Reload the configuration (root only; as SIGHUP). An invalid
        configuration raises InvalidArgument whose details list the
        errors; the running one stays."""
        return self._call(lambda: Request("reload", {}, _dict("reload")))

    def version(self) -> Any:
        """The daemon's version and protocol version, as a dict."""
        return self._call(lambda: Request("version", {}, _dict("version")))

    def call(self, op: str, args: Optional[Dict[str, Any]] = None) -> Any:
        """Any operation of the control protocol with raw args; returns its
        result as the daemon sent it (KEY_b64 folded into KEY)."""
        def build() -> Request:
            if not isinstance(op, str) or not op:
                raise InvalidArgument("op: expected an operation name")
            job = op in ("run_cleanup", "wait_job") and not (args or {}).get("no_wait")
            return Request(op, dict(args or {}), _same, retry=op != "run_cleanup",
                           wait=None if job else False, own_connection=job)
        return self._call(build)

    def get_cleanup_config(self, registration_id: str) -> Any:
        """One registration (by id or name) as get_cleanup_configs lists
        it; NotFound when there is none."""
        def post(result: Any) -> Dict[str, Any]:
            for reg in _configs(result):
                if registration_id in (reg.get("id"), reg.get("name")):
                    return reg
            raise NotFound("no registration with id or name '%s'" % registration_id)
        return self._call(lambda: Request("get_cleanup_configs", {}, post))
