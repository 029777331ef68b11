"""Tests of the Python client (contrib/python/housekeeper) against the real
daemon, run by tests/integration/t-python-client.sh, which starts
housekeeperd on a private config, state directory and socket and passes:

    HK_TEST_SOCKET   the daemon's control socket
    HK_TEST_ROOT     a temporary directory for the test's data
    HK_TEST_CONFIG   the daemon's config file (it has the section "cfg")

Each test class works in a directory of its own under HK_TEST_ROOT.
"""

import asyncio
import fcntl
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest

import housekeeper
from housekeeper import (AsyncClient, Client, ConfigSource, DaemonUnavailable, InvalidArgument,
                         NotFound, PermissionDenied, Timeout)

SOCK = os.environ.get("HK_TEST_SOCKET", "")
ROOT = os.environ.get("HK_TEST_ROOT", "")
CONFIG = os.environ.get("HK_TEST_CONFIG", "")
DAY = 86400


def make_tree(name, old=5, fresh=2):
    """A directory ROOT/name with `old` files of 3 days ago (o0.log ...)
    and `fresh` ones of an hour ago (n0.log ...)."""
    d = os.path.join(ROOT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.mkdir(d)
    now = time.time()
    for i in range(old):
        p = os.path.join(d, "o%d.log" % i)
        with open(p, "w") as f:
            f.write("old %d\n" % i)
        os.utime(p, (now - 3 * DAY + i * 60,) * 2)
    for i in range(fresh):
        p = os.path.join(d, "n%d.log" % i)
        with open(p, "w") as f:
            f.write("fresh %d\n" % i)
        os.utime(p, (now - 3600 + i * 60,) * 2)
    return d


class Locks:
    """flock(2) on the old files of a tree: the daemon keeps a locked file
    (SPEC 7), so the event-driven enforcement leaves them to the run this
    test makes."""

    def __init__(self, d):
        self.fds = []
        for n in sorted(os.listdir(d)):
            if n.startswith("o"):
                fd = os.open(os.path.join(d, n), os.O_RDONLY)
                fcntl.flock(fd, fcntl.LOCK_EX)
                self.fds.append(fd)

    def release(self):
        for fd in self.fds:
            os.close(fd)
        self.fds = []


def names(d):
    return sorted(os.listdir(d))


def find(configs, rid):
    for c in configs:
        if c["id"] == rid:
            return c
    raise AssertionError("registration %s not listed: %r" % (rid, [c["id"] for c in configs]))


class Checks:
    """Assertions shared by the sync and async flows."""

    def check_registered(self, configs, rid, d):
        reg = find(configs, rid)
        self.assertEqual(reg["directory"], d)
        self.assertEqual(reg["pattern"], "*.log")
        self.assertEqual(reg["retention"], DAY)
        self.assertEqual(reg["retention_days"], 1)
        self.assertEqual(reg["max_files"], 100)
        self.assertEqual(reg["max_size"], 64 * 1024 * 1024)
        self.assertEqual(reg["max_size_mb"], 64)
        self.assertEqual(reg["priority"], 50)
        self.assertEqual(reg["description"], "Trace logger files")
        self.assertEqual(reg["source"], "api")
        self.assertIsInstance(reg["created_at"], int)

    def check_dry(self, rep, rid, d):
        self.assertIs(rep["dry_run"], True, rep)
        self.assertIsInstance(rep["job_id"], int)
        self.assertEqual(rep["outcome"], "ok", rep)
        self.assertEqual([r["id"] for r in rep["registrations"]], [rid])
        listed = sorted(os.path.basename(f["path"]) for f in rep["files"])
        self.assertEqual(listed, ["o%d.log" % i for i in range(5)], rep["files"])
        self.assertEqual({f["reason"] for f in rep["files"]}, {"age"})
        # nothing deleted by a dry run
        self.assertEqual(len(names(d)), 7)

    def check_real(self, rep, rid, d):
        self.assertIs(rep["dry_run"], False, rep)
        self.assertEqual(rep["outcome"], "ok", rep)
        self.assertEqual(rep["totals"]["deleted"], 5, rep)
        self.assertEqual({f["outcome"] for f in rep["files"]}, {"deleted"}, rep["files"])
        self.assertEqual(names(d), ["n0.log", "n1.log"])


@unittest.skipUnless(SOCK and ROOT, "run by tests/integration/t-python-client.sh")
class TestSync(unittest.TestCase, Checks):
    """The seed's calls through Client, in the seed's order of use."""

    def test_flow(self):
        d = make_tree("sync")
        locks = Locks(d)
        with Client(SOCK) as hk:
            rid = hk.register_cleanup(d, pattern="*.log", retention_days=1, max_files=100,
                                      max_size_mb=64, priority=50,
                                      description="Trace logger files")
            self.assertEqual(len(rid), 36)
            self.check_registered(hk.get_cleanup_configs(), rid, d)

            # a service starting again registers its whole spec again: the
            # same id, the settings replaced by the ones given
            with Client(SOCK) as again:
                self.assertEqual(again.register_cleanup(d, "*.log", 1, description="again"), rid)
            reg = find(hk.get_cleanup_configs(), rid)
            self.assertEqual(reg["description"], "again")
            self.assertIsNone(reg["max_files"])
            self.assertEqual(len([c for c in hk.get_cleanup_configs() if c["directory"] == d]), 1)
            # another pattern is another registration
            other = hk.register_cleanup(d, pattern="*.tmp", retention_days=7)
            self.assertNotEqual(other, rid)
            self.assertTrue(hk.remove_cleanup_config(other))

            # update: the seed's names, the daemon's units, None resets
            self.assertTrue(hk.update_cleanup_config(rid, max_files=100, max_size_mb=64,
                                                     priority=50,
                                                     description="Trace logger files"))
            self.check_registered(hk.get_cleanup_configs(), rid, d)
            hk.update_cleanup_config(rid, max_size="1G")
            self.assertEqual(hk.get_cleanup_config(rid)["max_size_mb"], 1024)
            hk.update_cleanup_config(rid, max_size_mb=None, description=None)
            reg = hk.get_cleanup_config(rid)
            self.assertIsNone(reg["max_size"])
            self.assertIsNone(reg["max_size_mb"])
            self.assertIsNone(reg["description"])
            self.assertEqual(reg["retention_days"], 1)

            # a dry run reports the old files and deletes nothing
            self.check_dry(hk.run_cleanup(rid, dry_run=True), rid, d)
            # the real run deletes them
            locks.release()
            self.check_real(hk.run_cleanup(rid), rid, d)
            st = [s for s in hk.status() if s.get("id") == rid]
            self.assertEqual(len(st), 1, st)
            # (not its "files": after a dry run the daemon counts files held
            # under lock twice until its retry timer fires)
            self.assertIn("bytes", st[0])
            self.assertGreater(st[0]["last_run"], 0)
            ex = hk.explain(os.path.join(d, "n0.log"))
            self.assertIsInstance(ex, dict)
            # the client's version is the daemon's (configure.ac) and, in
            # the source tree, the package's (pyproject.toml)
            self.assertEqual(hk.version()["version"], housekeeper.__version__)
            pyproject = os.path.join(os.path.dirname(housekeeper.__file__), "..",
                                     "pyproject.toml")
            if os.path.exists(pyproject):
                with open(pyproject) as f:
                    self.assertIn('\nversion = "%s"\n' % housekeeper.__version__, f.read())
            self.assertIn("housekeeper_", hk.metrics())

            self.assertTrue(hk.remove_cleanup_config(rid))
            self.assertNotIn(rid, [c["id"] for c in hk.get_cleanup_configs()])
            with self.assertRaises(NotFound):
                hk.remove_cleanup_config(rid)

    def test_limits(self):
        """SPEC 5's later keys as keyword arguments: registered, listed,
        updated, reset with None; a bad value names its field."""
        d = make_tree("limits", old=0, fresh=1)
        with Client(SOCK) as hk:
            rid = hk.register_cleanup(d, max_files=10, min_free="5%", free_target="2G",
                                      low_watermark=80, skip_open=True, unit="file")
            reg = hk.get_cleanup_config(rid)
            self.assertEqual((reg["min_free"], reg["free_target"], reg["low_watermark"]),
                             ("5%", "2G", "80%"))
            self.assertIs(reg["skip_open"], True)
            self.assertEqual(reg["unit"], "file")
            self.assertIs(reg["remove_empty_dirs"], False)
            hk.update_cleanup_config(rid, free_target=None, min_free=None, low_watermark="50%",
                                     skip_open=False, recursive=True, remove_empty_dirs=True)
            reg = hk.get_cleanup_config(rid)
            self.assertIsNone(reg["min_free"])
            self.assertIsNone(reg["free_target"])
            self.assertEqual(reg["low_watermark"], "50%")
            self.assertIs(reg["skip_open"], False)
            self.assertIs(reg["remove_empty_dirs"], True)
            with self.assertRaises(InvalidArgument) as cm:
                hk.update_cleanup_config(rid, low_watermark="120%")
            self.assertIn("low_watermark", str(cm.exception))
            with self.assertRaises(InvalidArgument) as cm:
                hk.update_cleanup_config(rid, unit="tree")
            self.assertIn("unit", str(cm.exception))
            self.assertTrue(hk.remove_cleanup_config(rid))

    def test_submit_and_wait(self):
        d = make_tree("jobs", old=3, fresh=1)
        locks = Locks(d)
        try:
            with Client(SOCK) as hk:
                rid = hk.register_cleanup(d, pattern="*.log", retention_days=1)
                job = hk.submit_cleanup(rid, dry_run=True)
                self.assertIsInstance(job, int)
                w = hk.wait_job(job, timeout=60)
                self.assertTrue(w["done"], w)
                self.assertEqual(w["job_id"], job)
                self.assertEqual(w["job"]["outcome"], "ok")
                jobs = hk.jobs(limit=50)
                self.assertIn(job, [j["job_id"] for j in jobs])
                with self.assertRaises(NotFound):
                    hk.wait_job(999999)
                hk.remove_cleanup_config(rid)
        finally:
            locks.release()

    def test_name_bytes(self):
        # a directory name that is not UTF-8 round-trips (KEY_b64)
        raw = os.path.join(os.fsencode(ROOT), b"caf\xe9")
        os.makedirs(raw, exist_ok=True)
        with Client(SOCK) as hk:
            rid = hk.register_cleanup(raw, pattern="*.log", retention_days=30)
            reg = hk.get_cleanup_config(rid)
            self.assertEqual(os.fsencode(reg["directory"]), raw)
            self.assertEqual(hk.register_cleanup(os.fsdecode(raw), "*.log", 30), rid)
            hk.remove_cleanup_config(rid)

    def test_errors(self):
        with Client(SOCK) as hk:
            with self.assertRaises(InvalidArgument) as cm:
                hk.register_cleanup("relative/logs", pattern="*.log", retention_days=1)
            self.assertEqual(cm.exception.name, "HK_ECONFIG")
            self.assertIn("absolute", str(cm.exception))
            self.assertIsInstance(cm.exception, ValueError)
            with self.assertRaises(InvalidArgument) as cm:
                hk.register_cleanup(ROOT, pattern="a/b.log")
            self.assertIn("'/'", cm.exception.message)
            d = make_tree("errors", old=0, fresh=1)
            rid = hk.register_cleanup(d, retention_days=1)
            with self.assertRaises(InvalidArgument) as cm:
                hk.update_cleanup_config(rid, retention="soon")
            self.assertTrue(cm.exception.message.startswith("retention"), cm.exception.message)
            with self.assertRaises(InvalidArgument):
                hk.update_cleanup_config(rid, no_such_field=1)
            with self.assertRaises(InvalidArgument):
                hk.update_cleanup_config(rid)                 # nothing to change
            with self.assertRaises(InvalidArgument):
                hk.register_cleanup(d, retention_days="30")   # not a number
            with self.assertRaises(NotFound) as cm:
                hk.update_cleanup_config("no-such-registration", max_files=1)
            self.assertIn("no-such-registration", str(cm.exception))
            with self.assertRaises(NotFound):
                hk.run_cleanup("no-such-registration", dry_run=True)
            hk.remove_cleanup_config(rid)
            # a registration of the configuration file is changed there
            cfg = [c for c in hk.get_cleanup_configs() if c.get("name") == "cfg"]
            self.assertEqual(len(cfg), 1)
            self.assertEqual(cfg[0]["source"], "config")
            with self.assertRaises(ConfigSource) as cm:
                hk.update_cleanup_config(cfg[0]["id"], max_files=3)
            self.assertIn(os.path.basename(CONFIG), str(cm.exception))
            self.assertIsInstance(cm.exception, housekeeper.Refused)

    def test_no_daemon(self):
        missing = os.path.join(ROOT, "no-daemon.sock")
        hk = Client(missing)
        with self.assertRaises(DaemonUnavailable) as cm:
            hk.get_cleanup_configs()
        self.assertIn(missing, str(cm.exception))
        self.assertIsInstance(cm.exception, ConnectionError)
        with self.assertRaises(DaemonUnavailable):
            with Client(missing):
                pass
        # a socket file nobody listens on: refused
        dead = os.path.join(ROOT, "dead.sock")
        s = socket.socket(socket.AF_UNIX)
        s.bind(dead)
        s.close()
        with self.assertRaises(DaemonUnavailable):
            Client(dead).register_cleanup(ROOT)

    def test_socket_from_environment(self):
        old = os.environ.get("HOUSEKEEPER_SOCKET")
        try:
            os.environ["HOUSEKEEPER_SOCKET"] = SOCK
            with Client() as hk:
                self.assertEqual(hk.socket_path, SOCK)
                self.assertIsInstance(hk.get_cleanup_configs(), list)
            os.environ["HOUSEKEEPER_SOCKET"] = os.path.join(ROOT, "elsewhere.sock")
            with self.assertRaises(DaemonUnavailable):
                Client().status()
            # the argument overrides the environment
            with Client(SOCK) as hk:
                self.assertIsInstance(hk.status(), list)
            del os.environ["HOUSEKEEPER_SOCKET"]
            self.assertEqual(Client().socket_path, housekeeper.DEFAULT_SOCKET)
        finally:
            if old is None:
                os.environ.pop("HOUSEKEEPER_SOCKET", None)
            else:
                os.environ["HOUSEKEEPER_SOCKET"] = old

    def test_timeout(self):
        # a server that accepts and never answers
        path = os.path.join(ROOT, "silent.sock")
        srv = socket.socket(socket.AF_UNIX)
        srv.bind(path)
        srv.listen(4)
        try:
            t0 = time.monotonic()
            with self.assertRaises(Timeout):
                Client(path, timeout=0.5).get_cleanup_configs()
            self.assertLess(time.monotonic() - t0, 5)
            t0 = time.monotonic()

            async def one():
                await AsyncClient(path, timeout=0.5).status()
            with self.assertRaises(Timeout):
                asyncio.run(one())
            self.assertLess(time.monotonic() - t0, 5)
        finally:
            srv.close()

    def test_threads(self):
        # one client shared by threads: calls are serialized, ids in step
        errors = []
        with Client(SOCK) as hk:
            def work():
                try:
                    for _ in range(20):
                        self.assertIsInstance(hk.get_cleanup_configs(), list)
                        self.assertIsInstance(hk.status(), list)
                except Exception as e:  # noqa: BLE001 (reported below)
                    errors.append(e)
            ts = [threading.Thread(target=work) for _ in range(4)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
        self.assertEqual(errors, [])

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root and setpriv")
    def test_permission_denied(self):
        # another user: reload is root's; the socket may not even be open to it
        code = ("import housekeeper, sys\n"
                "try:\n"
                "    housekeeper.Client(sys.argv[1]).reload()\n"
                "except housekeeper.PermissionDenied as e:\n"
                "    print('denied:', e); sys.exit(0)\n"
                "sys.exit(1)\n")
        r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                            sys.executable, "-c", code, SOCK], capture_output=True, text=True,
                           env=dict(os.environ), timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertTrue(issubclass(PermissionDenied, PermissionError))


class FakeDaemon:
    """A socket server that answers each request with an empty list and
    then closes the connection (as the daemon closes an idle one), or with
    close_first closes it before answering; requests counts what it read."""

    def __init__(self, path, close_first=False):
        self.requests = 0
        self.close_first = close_first
        self.srv = socket.socket(socket.AF_UNIX)
        self.srv.bind(path)
        self.srv.listen(8)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        import json
        import struct
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            with conn:
                head = conn.recv(4, socket.MSG_WAITALL)
                if len(head) < 4:
                    continue
                req = json.loads(conn.recv(struct.unpack(">I", head)[0], socket.MSG_WAITALL))
                self.requests += 1
                if self.close_first:
                    continue
                body = json.dumps({"v": 1, "id": req["id"], "ok": True, "result": []}).encode()
                conn.sendall(struct.pack(">I", len(body)) + body)

    def close(self):
        self.srv.close()


@unittest.skipUnless(ROOT, "run by tests/integration/t-python-client.sh")
class TestTransport(unittest.TestCase):
    """The connection handling, against a fake daemon."""

    def test_reconnect(self):
        # a connection the daemon closed is re-opened, transparently
        path = os.path.join(ROOT, "closing.sock")
        fake = FakeDaemon(path)
        try:
            hk = Client(path)
            for _ in range(3):
                self.assertEqual(hk.get_cleanup_configs(), [])
                time.sleep(0.1)     # the close arrives: the next call sees it
            self.assertEqual(fake.requests, 3)
            hk.close()

            async def flow():
                ahk = AsyncClient(path)
                for _ in range(3):
                    self.assertEqual(await ahk.get_cleanup_configs(), [])
                    await asyncio.sleep(0.1)
                await ahk.close()
            asyncio.run(flow())
            self.assertEqual(fake.requests, 6)
        finally:
            fake.close()

    def test_run_not_sent_twice(self):
        # a run whose connection is lost is the daemon gone: never re-sent
        path = os.path.join(ROOT, "lost.sock")
        fake = FakeDaemon(path, close_first=True)
        try:
            with self.assertRaises(DaemonUnavailable):
                Client(path).run_cleanup("x", dry_run=True)
            self.assertEqual(fake.requests, 1)
            with self.assertRaises(DaemonUnavailable):
                Client(path).submit_cleanup("x", dry_run=True)
            self.assertEqual(fake.requests, 2)
            # a listing is sent once more, then it is the daemon gone
            with self.assertRaises(DaemonUnavailable):
                Client(path).get_cleanup_configs()
            self.assertEqual(fake.requests, 4)

            async def flow():
                with self.assertRaises(DaemonUnavailable):
                    await AsyncClient(path).run_cleanup("x", dry_run=True)
                self.assertEqual(fake.requests, 5)
                with self.assertRaises(DaemonUnavailable):
                    await AsyncClient(path).submit_cleanup("x", dry_run=True)
                self.assertEqual(fake.requests, 6)
                with self.assertRaises(DaemonUnavailable):
                    await AsyncClient(path).get_cleanup_configs()
                self.assertEqual(fake.requests, 8)
            asyncio.run(flow())
        finally:
            fake.close()


@unittest.skipUnless(SOCK and ROOT, "run by tests/integration/t-python-client.sh")
class TestAsync(unittest.TestCase, Checks):
    """The same calls through AsyncClient."""

    def test_flow(self):
        d = make_tree("async")
        locks = Locks(d)

        async def flow():
            async with AsyncClient(SOCK) as hk:
                rid = await hk.register_cleanup(d, pattern="*.log", retention_days=1,
                                                max_files=100, max_size_mb=64, priority=50,
                                                description="Trace logger files")
                self.check_registered(await hk.get_cleanup_configs(), rid, d)
                async with AsyncClient(SOCK) as again:
                    self.assertEqual(await again.register_cleanup(d, "*.log", 1), rid)
                self.assertIsNone((await hk.get_cleanup_config(rid))["description"])
                self.assertTrue(await hk.update_cleanup_config(
                    rid, max_files=100, max_size_mb=64, priority=50,
                    description="Trace logger files"))
                configs, status = await asyncio.gather(hk.get_cleanup_configs(), hk.status())
                self.check_registered(configs, rid, d)
                self.assertIsInstance(status, list)

                # a run on its own connection; other calls go on meanwhile
                dry, listed = await asyncio.gather(hk.run_cleanup(rid, dry_run=True),
                                                   hk.get_cleanup_configs())
                self.check_dry(dry, rid, d)
                self.assertIn(rid, [c["id"] for c in listed])
                job = await hk.submit_cleanup(rid, dry_run=True)
                w = await hk.wait_job(job)
                self.assertTrue(w["done"], w)
                self.assertEqual(w["job"]["outcome"], "ok", w)
                locks.release()
                self.check_real(await hk.run_cleanup(rid), rid, d)

                with self.assertRaises(InvalidArgument) as cm:
                    await hk.register_cleanup("relative/logs")
                self.assertIn("absolute", cm.exception.message)
                self.assertTrue(await hk.remove_cleanup_config(rid))
                with self.assertRaises(NotFound):
                    await hk.update_cleanup_config(rid, max_files=1)
                self.assertNotIn(rid, [c["id"] for c in await hk.get_cleanup_configs()])

            missing = os.path.join(ROOT, "no-daemon.sock")
            with self.assertRaises(DaemonUnavailable):
                await AsyncClient(missing).get_cleanup_configs()
            with self.assertRaises(DaemonUnavailable):
                async with AsyncClient(missing):
                    pass

        try:
            asyncio.run(flow())
        finally:
            locks.release()

    def test_cancel(self):
        # a cancelled call leaves the client usable
        async def flow():
            hk = AsyncClient(SOCK)
            task = asyncio.ensure_future(hk.get_cleanup_configs())
            await asyncio.sleep(0)
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            self.assertIsInstance(await hk.get_cleanup_configs(), list)
            await hk.close()
        asyncio.run(flow())


if __name__ == "__main__":
    unittest.main()
