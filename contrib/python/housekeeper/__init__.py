"""housekeeper: a pure-Python client of housekeeperd, the directory
cleanup daemon, over its control socket (no C extension, standard library
only).

Client (blocking) and AsyncClient (asyncio) offer the calls of the design's
SchedulerService with its signatures::

    import housekeeper

    with housekeeper.Client() as hk:          # $HOUSEKEEPER_SOCKET or the default
        rid = hk.register_cleanup("/var/log/myapp", pattern="*.log",
                                  retention_days=30, max_files=100,
                                  description="MyApp log files")
        hk.update_cleanup_config(rid, max_files=50)
        for reg in hk.get_cleanup_configs():
            print(reg["id"], reg["directory"], reg["retention_days"])
        report = hk.run_cleanup(rid, dry_run=True)
        hk.remove_cleanup_config(rid)

Registering is idempotent (same directory, pattern and user: same id, the
settings replaced by the ones given), so a service calls register_cleanup
at every start. Errors are HousekeeperError subclasses (see
housekeeper.errors): DaemonUnavailable, InvalidArgument, NotFound,
PermissionDenied, Timeout...
"""

from . import errors
from .aio import AsyncClient
from .client import DEFAULT_TIMEOUT, Client
from .errors import *  # noqa: F401,F403 (the exceptions, listed in errors.__all__)
from .protocol import DEFAULT_SOCKET, SOCKET_ENV, default_socket_path

__version__ = "0.1.0"

__all__ = ["Client", "AsyncClient", "DEFAULT_SOCKET", "DEFAULT_TIMEOUT", "SOCKET_ENV",
           "default_socket_path"] + [n for n in errors.__all__ if n != "error_from_reply"]
