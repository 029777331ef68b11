#!/usr/bin/env python3
"""policy_model.py - random trees against an independent model of SPEC 5.

For each seed: build a random tree under WORK (regular files of random
sizes and times, subdirectories, symlinks, FIFOs), write 1-4 random
registrations over it (overlapping directories, patterns, excludes,
retention / max_files / max_size / none, priorities, recursive, age_by),
run `housekeeperd --once` on it, and compare the files left with what this
model says must be left. The model is written from SPEC 5 only:

  candidates: regular files directly in the directory (or below it when
  recursive) whose name matches the pattern and no exclude, oldest first
  by the age_by time (the newest of the listed times), ties by name in
  byte order; age, then count, then size, each on what the previous left;
  registrations in priority order (lower first, ties by name), each on
  what the previous ones left; no policy at all = default retention;
  low_watermark: a count or size exceeded is trimmed to that share of it.
  unit = directory (see units()): the candidates are the matching
  subdirectories directly in the directory, a unit's age its newest
  file's (at any depth), its size the sum; a selected unit loses every
  regular file, and its directories go bottom-up unless a non-file
  (symlink, FIFO) keeps them.

Free space (min_free / free_target, section "free space" below): as
root, in --once mode, about a third of the seeds run on a tmpfs of their
own with page-aligned, non-sparse files, and every registration gets a
min_free around the free space measured after the tree is built: in
priority order, a registration whose floor was crossed when the first of
them looked (free space before the run's deletions there) deletes, after
its other policies, its oldest remaining candidates until the largest
target of the crossed ones is free, once no crossed registration before
it has candidates left (every registration has one, so their sweeps run
one at a time).

In daemon mode, about a third of the seeds run on a tmpfs too, the tree
in a directory of it: the floors are below the free space the tree
leaves, so nothing goes for free space at start-up; once the daemon has
settled, a filler outside every registration (with an event in a
registered directory, so that the daemon looks at once) takes the free
space below some floors, and the crossed registrations give up their
oldest candidates in priority order, each only once the ones before it
have none left, until the largest target among them is free.

remove_empty_dirs (section below): on at most one recursive registration
per seed, with some directories aged: a subtree of old directories and
nothing else below its directory goes, never its directory itself.

Times are kept at least 20 s away from every retention boundary, and two
files that could tie (same time) and differ only in their directory are
not generated, since SPEC 5 leaves their order open.

usage: policy_model.py HOUSEKEEPERD WORKDIR FIRST_SEED COUNT
"""
import fnmatch
import os
import random
import re
import shutil
import stat
import subprocess
import sys
import time

DAY = 86400
NAMES = ["app", "trace", "core", "cache", "x", "a", "b", "z", "log", "tmp", ".hidden"]
EXTS = [".log", ".tmp", ".gz", "", ".log.1", ".txt"]
PATTERNS = ["*", "*.log", "*.tmp", "a*", "*.log*", "[ab]*", "?.*", "trace-*"]
EXCLUDES = ["a*", "*.gz", "core-*", "*-1*", ".*"]
DEFAULT_RETENTION_DAYS = 30
STATS = {"files": 0, "deleted": 0, "skipped": 0, "free": 0, "units": 0, "empty_dirs": 0}
MODE = os.environ.get("HK_MODEL_MODE", "once")


def fmt_duration(sec):
    if sec % DAY == 0:
        return "%dd" % (sec // DAY)
    if sec % 3600 == 0:
        return "%dh" % (sec // 3600)
    if sec % 60 == 0:
        return "%dmin" % (sec // 60)
    return "%ds" % sec


def build_tree(rng, root, now):
    """Returns {relpath: (size, mtime_ns, atime_ns)} of the regular files."""
    files = {}
    dirs = [""]
    for _ in range(rng.randint(0, 4)):
        parent = rng.choice(dirs)
        if parent.count("/") >= 2:
            continue
        d = (parent + "/" if parent else "") + "d%d" % len(dirs)
        os.mkdir(os.path.join(root, d))
        dirs.append(d)
    # a pool of times shared by several files, so ties happen
    pool = [now - rng.randint(0, 90) * DAY - rng.randint(0, DAY - 1) for _ in range(6)]
    used_time_name = set()
    for i in range(rng.randint(0, 40)):
        d = rng.choice(dirs)
        name = "%s-%d%s" % (rng.choice(NAMES), rng.randint(0, 30), rng.choice(EXTS))
        rel = (d + "/" if d else "") + name
        if rel in files:
            continue
        if rng.random() < 0.3:
            sec = rng.choice(pool)
        else:
            sec = now - rng.randint(0, 120) * DAY - rng.randint(0, DAY - 1)
        mtime_ns = sec * 10**9 + rng.choice([0, rng.randint(0, 10**9 - 1)])
        atime_ns = (now - rng.randint(0, 60) * DAY) * 10**9
        # same time and name in two directories: order left open by SPEC
        if (mtime_ns, name) in used_time_name or (atime_ns, name) in used_time_name:
            continue
        used_time_name.add((mtime_ns, name))
        used_time_name.add((atime_ns, name))
        size = rng.choice([0, 1, 100, 1000, 4096, rng.randint(0, 20000)])
        path = os.path.join(root, rel)
        with open(path, "wb") as f:
            f.truncate(size)
        os.utime(path, ns=(atime_ns, mtime_ns))
        files[rel] = (size, mtime_ns, atime_ns)
    # things that are never candidates
    for i in range(rng.randint(0, 3)):
        d = rng.choice(dirs)
        base = os.path.join(root, d) if d else root
        kind = rng.choice(["symlink", "fifo", "dirlink"])
        name = "%s-%d.log" % (kind, i)
        p = os.path.join(base, name)
        if os.path.lexists(p):
            continue
        if kind == "symlink" and files:
            os.symlink(os.path.join(root, rng.choice(sorted(files))), p)
        elif kind == "fifo":
            os.mkfifo(p)
        elif kind == "dirlink":
            os.symlink(root, p)
    return files, dirs


def random_regs(rng, dirs, now, files):
    regs = []
    used = set()
    for i in range(rng.randint(1, 4)):
        d = rng.choice(dirs)
        pattern = rng.choice(PATTERNS)
        if (d, pattern) in used:
            continue
        used.add((d, pattern))
        reg = {
            "name": "r%d%s" % (i, rng.choice(["", "x", "a"])),
            "dir": d,
            "pattern": pattern,
            "excludes": rng.sample(EXCLUDES, rng.choice([0, 0, 1, 2])),
            "recursive": rng.random() < 0.5,
            "priority": rng.choice([10, 50, 50, 100]),
            "age_by": rng.choice([["mtime"], ["mtime"], ["atime"], ["mtime", "atime"]]),
            "retention": None, "max_files": None, "max_size": None,
        }
        reg["unit"] = "file"
        if rng.random() < 0.25:
            unit_regs(rng, reg)
        kinds = rng.sample(["retention", "max_files", "max_size"], rng.randint(0, 3))
        if "retention" in kinds:
            reg["retention"] = rng.choice([1, 3, 7, 14, 30, 60]) * DAY + rng.choice([0, 3600])
        if "max_files" in kinds:
            reg["max_files"] = rng.choice([0, 1, 2, 3, 5, 10, 20])
        if "max_size" in kinds:
            reg["max_size"] = rng.choice([0, 1024, 4096, 10240, 30 * 1024, 100 * 1024])
        rule_skip_open(rng, reg)
        regs.append(reg)
    return regs


def rule_skip_open(rng, reg):
    """skip_open (SPEC 7) keeps files any process holds open. Nothing in a
    model tree is open, so the selection is the one without it: the lease
    path (reap.c) must delete exactly the files the model selects."""
    reg["skip_open"] = rng.random() < 0.3


# unit = directory -----------------------------------------------------------

UNIT_PATTERNS = ["*", "d*", "d[12]*", "*3"]


def unit_regs(rng, reg):
    """Make reg a unit = directory one (never recursive: SPEC 3)."""
    reg["unit"] = "directory"
    reg["recursive"] = False
    reg["pattern"] = rng.choice(UNIT_PATTERNS)
    reg["excludes"] = rng.sample(["d1", "*4", "x*"], rng.choice([0, 0, 1]))


def units(reg, alive, files):
    """The units of reg, oldest first: (key, name, size, [files])."""
    out = {}
    base = reg["dir"] + "/" if reg["dir"] else ""
    for rel in alive:
        if not rel.startswith(base):
            continue
        parts = rel[len(base):].split("/")
        if len(parts) < 2:
            continue   # directly in the directory: not a unit's
        u = parts[0]
        if not fnmatch.fnmatchcase(u, reg["pattern"]):
            continue
        if any(fnmatch.fnmatchcase(u, x) for x in reg["excludes"]):
            continue
        out.setdefault(u, []).append(rel)
    return sorted(((max(key_of(reg, files[r]) for r in rels), u.encode(),
                    sum(files[r][0] for r in rels), rels) for u, rels in out.items()),
                  key=lambda t: (t[0], t[1]))


def model_units(reg, alive, files, now_ns, retention, gone_units):
    """SPEC 5 on units: age, count, size; the files of selected ones go."""
    cand = units(reg, alive, files)
    sel = []
    if retention is not None:
        while cand and now_ns - cand[0][0] > retention * 10**9:
            sel.append(cand.pop(0))
    if reg["max_files"] is not None and len(cand) > reg["max_files"]:
        cut = len(cand) - watermark_target(reg, reg["max_files"])
        sel += cand[:cut]
        cand = cand[cut:]
    if reg["max_size"] is not None:
        total = sum(u[2] for u in cand)
        if total > reg["max_size"]:
            while total > watermark_target(reg, reg["max_size"]):
                total -= cand[0][2]
                sel.append(cand.pop(0))
    for u in sel:
        for rel in u[3]:
            alive.discard(rel)
        gone_units.append((reg["dir"] + "/" if reg["dir"] else "") + u[1].decode())


def dirs_removed(root, gone_units):
    """Directories of the deleted units that nothing but directories
    filled (a symlink or FIFO keeps them and their parents)."""
    out = set()
    for u in gone_units:
        top = os.path.join(root, u)
        for dirpath, dirnames, filenames in os.walk(top, topdown=False):
            rel = os.path.relpath(dirpath, root)
            kept = [n for n in filenames if not stat.S_ISREG(os.lstat(os.path.join(dirpath, n)).st_mode)]
            # symlinks to directories are listed in dirnames by os.walk
            kept += [n for n in dirnames if os.path.islink(os.path.join(dirpath, n))]
            kept += [n for n in dirnames if not os.path.islink(os.path.join(dirpath, n)) and
                     os.path.relpath(os.path.join(dirpath, n), root) not in out]
            if not kept:
                out.add(rel)
    return out


def key_of(reg, meta):
    size, mtime_ns, atime_ns = meta
    times = {"mtime": mtime_ns, "atime": atime_ns}
    return max(times[t] for t in reg["age_by"])


def near_boundary(regs, files, now):
    """True when some file's age is within 20 s of a retention limit."""
    for reg in regs:
        ret = reg["retention"]
        if ret is None and reg["max_files"] is None and reg["max_size"] is None:
            ret = DEFAULT_RETENTION_DAYS * DAY
        if ret is None:
            continue
        for meta in files.values():
            age = now * 10**9 - key_of(reg, meta)
            if abs(age - ret * 10**9) < 20 * 10**9:
                return True
    return False


def candidates(reg, alive, files):
    out = []
    for rel in alive:
        parent, _, name = rel.rpartition("/")
        if reg["recursive"]:
            if reg["dir"] and not (parent == reg["dir"] or parent.startswith(reg["dir"] + "/")):
                continue
        elif parent != reg["dir"]:
            continue
        if not fnmatch.fnmatchcase(name, reg["pattern"]):
            continue
        if any(fnmatch.fnmatchcase(name, x) for x in reg["excludes"]):
            continue
        out.append(rel)
    out.sort(key=lambda rel: (key_of(reg, files[rel]), rel.rpartition("/")[2].encode()))
    return out


def model(regs, files, now_ns, free=None, gone_units=None):
    """free: the filesystem's free bytes before the run (free-space trials);
    gone_units collects the units deleted whole."""
    alive = set(files)
    order = sorted(regs, key=lambda r: (r["priority"], r["name"].encode()))
    fs = FreeModel(free, order)
    gone_units = [] if gone_units is None else gone_units
    for reg in order:
        retention = reg["retention"]
        if retention is None and reg["max_files"] is None and reg["max_size"] is None:
            retention = DEFAULT_RETENTION_DAYS * DAY
        if reg["unit"] == "directory":
            model_units(reg, alive, files, now_ns, retention, gone_units)
            continue
        cand = candidates(reg, alive, files)
        fs.start(reg, alive, files)
        if retention is not None:
            keep = []
            for rel in cand:
                if now_ns - key_of(reg, files[rel]) > retention * 10**9:
                    alive.discard(rel)
                else:
                    keep.append(rel)
            cand = keep
        if reg["max_files"] is not None and len(cand) > reg["max_files"]:
            cut = len(cand) - watermark_target(reg, reg["max_files"])
            for rel in cand[:cut]:
                alive.discard(rel)
            cand = cand[cut:]
        if reg["max_size"] is not None:
            total = sum(files[rel][0] for rel in cand)
            i = 0
            if total > reg["max_size"]:
                while total > watermark_target(reg, reg["max_size"]):
                    total -= files[cand[i]][0]
                    alive.discard(cand[i])
                    i += 1
            cand = cand[i:]
        fs.apply(reg, cand, alive, files)
    return alive


# --- low_watermark (SPEC 5): once count or size is exceeded (by what age,
# and count, left), delete down to that share of the limit, rounded down.
# Drawn from a generator of its own, so that the trees and registrations
# of every seed stay as they were without it.

def add_low_watermarks(seed, regs):
    rng = random.Random("low_watermark-%d" % seed)
    for reg in regs:
        reg["low_watermark"] = rng.choice([None, None, 100, 80, 50, 1, rng.randint(1, 100)])


def watermark_target(reg, limit):
    w = reg.get("low_watermark")
    return limit if w is None else limit * w // 100


# Free space ------------------------------------------------------------
# SPEC 5: "while the filesystem has less free space than a registration's
# min_free, its oldest candidates are deleted until free_target is free;
# across registrations on one filesystem the lowest priority number goes
# first, the next only when the previous has no candidates left."

PAGE = 4096
FREE_TMPFS = "16m"


class FreeModel:
    """The free space of one filesystem through a run: what it had before
    plus the size of every file deleted so far (page-aligned, non-sparse
    files on a tmpfs free their size). A registration's floor is crossed
    when the free space the first of them saw is below its min_free; the
    crossed ones give up their oldest candidates in priority order, each
    only once no crossed one before it has candidates left, until the
    largest free_target among them is free."""

    def __init__(self, free, regs):
        self.free0, self.first = free, None
        self.regs = regs   # in priority order
        self.turn = {}

    def now(self, alive, files):
        return self.free0 + sum(files[rel][0] for rel in files if rel not in alive)

    def crossed(self, reg):
        lo = reg.get("min_free")
        return lo is not None and self.first < lo

    def target(self):
        return max(max(r["min_free"], r.get("free_target") or r["min_free"])
                   for r in self.regs if self.crossed(r))

    def start(self, reg, alive, files):
        """Before reg's policies: the first registration to look measures
        the floor for the run; reg's turn has come when no crossed
        registration before it has a candidate left."""
        if self.free0 is None:
            return
        if self.first is None:
            self.first = self.now(alive, files)
        before = self.regs[:self.regs.index(reg)]
        self.turn[reg["name"]] = not any(self.crossed(r) and candidates(r, alive, files)
                                         for r in before)

    def apply(self, reg, cand, alive, files):
        """After reg's other policies: its oldest remaining candidates go
        while the free space is below the target, when its floor was
        crossed and its turn has come."""
        if self.free0 is None or not self.crossed(reg) or not self.turn[reg["name"]]:
            return
        hi = self.target()
        free = self.now(alive, files)
        for rel in cand:
            if free >= hi:
                break
            alive.discard(rel)
            free += files[rel][0]


def free_fs(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def free_setup(seed, root):
    """A free-space trial for this seed? Then root is a tmpfs of its own."""
    if os.geteuid() != 0 or random.Random(seed * 7919 + 1).random() > 0.35:
        return False
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=" + FREE_TMPFS, "hk-model", root],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode == 0


def free_align(root, files):
    """Files of whole pages with real data, so a deletion frees its size."""
    for rel, (size, mtime_ns, atime_ns) in list(files.items()):
        size = -(-size // PAGE) * PAGE
        path = os.path.join(root, rel)
        with open(path, "wb") as f:
            f.write(b"x" * size)
        os.utime(path, ns=(atime_ns, mtime_ns))
        files[rel] = (size, mtime_ns, atime_ns)


def free_regs(seed, regs, free):
    """Every registration gets a floor around the free space (KiB)."""
    rng = random.Random(seed * 7919 + 2)
    for reg in regs:
        if reg["unit"] == "directory":
            continue   # min_free is not for unit = directory (refused by -t)
        reg["min_free"] = max(1024, free + rng.choice([-8, 4, 20, 60, 200]) * 1024)
        if rng.random() < 0.6:
            reg["free_target"] = reg["min_free"] + rng.choice([0, 8, 40]) * 1024


def free_regs_daemon(seed, regs, free):
    """Daemon mode: every floor below the free space the tree leaves, so
    that only the filler (free_fill) crosses them."""
    rng = random.Random(seed * 7919 + 2)
    for reg in regs:
        if reg["unit"] == "directory":
            continue
        reg["min_free"] = max(1024, free - rng.choice([8, 16, 40, 100]) * 1024)
        if rng.random() < 0.6:
            reg["free_target"] = reg["min_free"] + rng.choice([0, 8, 40]) * 1024


def free_fill_size(seed, free, settled):
    """The filler's size: the free space the settled daemon leaves, down to
    around the floors (page-aligned)."""
    rng = random.Random(seed * 7919 + 3)
    want = free - rng.choice([0, 24, 60, 120]) * 1024
    return max(PAGE, -(-(settled - want) // PAGE) * PAGE)


def model_free_phase(regs, files, alive, free_at_start):
    """The event path after the filler: the free space is free_at_start
    before any free-space deletion; in priority order as in a run."""
    order = sorted(regs, key=lambda r: (r["priority"], r["name"].encode()))
    fs = FreeModel(free_at_start - sum(files[rel][0] for rel in files if rel not in alive), order)
    for reg in order:
        if reg["unit"] == "directory":
            continue
        fs.start(reg, alive, files)
        fs.apply(reg, candidates(reg, alive, files), alive, files)
    return alive


def poke_name(reg):
    """A name reg's pattern matches and no exclude does: a FIFO of that name
    is an event the daemon looks at free space after (never a candidate)."""
    for n in ["hk-poke.log", "a-poke.log", "b-poke.log", "trace-poke.tmp", "x.tmp", "z-poke"]:
        if fnmatch.fnmatchcase(n, reg["pattern"]) and \
                not any(fnmatch.fnmatchcase(n, x) for x in reg["excludes"]):
            return n
    return None


def free_conf(reg):
    out = ""
    if reg.get("min_free") is not None:
        out += "min_free = %dK\n" % (reg["min_free"] // 1024)
    if reg.get("free_target") is not None:
        out += "free_target = %dK\n" % (reg["free_target"] // 1024)
    return out


def free_cleanup(root):
    subprocess.run(["umount", root], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# remove_empty_dirs --------------------------------------------------------
# SPEC 5 (issue 19): on a recursive registration, empty subdirectories
# older than retention (without one, than a minute) are removed, deepest
# first, never the directory itself. A directory that held a file when
# the tree was built is never old and empty at once (deleting the file
# made it new), so what goes is a subtree of old directories and nothing
# else. At most one registration per seed, and none beside unit =
# directory ones: their removals and its own would depend on which runs
# first. A generator of its own keeps every seed's tree and registrations.

EMPTY_DIR_AGE = 60


def add_empty_dirs(seed, root, dirs, regs, now):
    """Add a few empty directories (to dirs), age some directories (whole
    days and a half: far from every retention and from the minute);
    returns {dir: age in seconds}."""
    rng = random.Random("remove_empty_dirs-%d" % seed)
    ages = {}
    if any(r["unit"] == "directory" for r in regs):
        return ages   # an empty unit is aged by its directory: left new
    for i in range(rng.randint(1, 3)):
        parent = rng.choice(dirs)
        if parent.count("/") >= 3:
            continue
        d = (parent + "/" if parent else "") + "e%d" % i
        os.mkdir(os.path.join(root, d))
        dirs.append(d)
    for d in dirs[1:]:
        ages[d] = rng.choice([0, rng.randint(2, 100) * DAY + DAY // 2])
        if ages[d]:
            os.utime(os.path.join(root, d), (now - ages[d], now - ages[d]))
    rec = [r for r in regs if r["recursive"]]
    if rec and rng.random() < 0.8:
        rng.choice(rec)["remove_empty_dirs"] = True
    return ages


def old_dirs_only(root, d, ages, limit):
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, d)):
        if filenames or ages.get(os.path.relpath(dirpath, root), 0) <= limit:
            return False
        if any(os.path.islink(os.path.join(dirpath, n)) for n in dirnames):
            return False
    return True


def empty_dirs_removed(root, regs, dirs, ages):
    out = set()
    for reg in regs:
        if not reg.get("remove_empty_dirs"):
            continue
        ret = reg["retention"]
        if ret is None and reg["max_files"] is None and reg["max_size"] is None:
            ret = DEFAULT_RETENTION_DAYS * DAY
        base = reg["dir"]
        for d in dirs[1:]:
            if (not base or d.startswith(base + "/")) and \
                    old_dirs_only(root, d, ages, ret or EMPTY_DIR_AGE):
                out.add(d)
    return out


def write_conf(path, root, regs):
    with open(path, "w") as f:
        f.write("[scheduler]\nhousekeeper_report_enabled = false\n\n")
        for reg in regs:
            d = os.path.join(root, reg["dir"]) if reg["dir"] else root
            f.write('[cleanup "%s"]\ndirectory = %s\npattern = %s\n' % (reg["name"], d, reg["pattern"]))
            for x in reg["excludes"]:
                f.write("exclude = %s\n" % x)
            f.write("recursive = %s\n" % ("yes" if reg["recursive"] else "no"))
            if reg["unit"] == "directory":
                f.write("unit = directory\n")
            f.write("priority = %d\n" % reg["priority"])
            f.write("age_by = %s\n" % " ".join(reg["age_by"]))
            if reg.get("skip_open"):
                f.write("skip_open = yes\n")
            if reg.get("remove_empty_dirs"):
                f.write("remove_empty_dirs = yes\n")
            if reg["retention"] is not None:
                f.write("retention = %s\n" % fmt_duration(reg["retention"]))
            if reg["max_files"] is not None:
                f.write("max_files = %d\n" % reg["max_files"])
            if reg["max_size"] is not None:
                f.write("max_size = %d%s\n" % ((reg["max_size"] // 1024, "K") if reg["max_size"] else (0, "")))
            if reg.get("low_watermark") is not None:
                f.write("low_watermark = %d%%\n" % reg["low_watermark"])
            f.write(free_conf(reg))
            f.write("\n")


def left_on_disk(root):
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames:
            p = os.path.join(dirpath, n)
            if stat.S_ISREG(os.lstat(p).st_mode):
                out.add(os.path.relpath(p, root))
    return out


def nonfiles_on_disk(root):
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        for n in filenames + dirnames:
            p = os.path.join(dirpath, n)
            if not stat.S_ISREG(os.lstat(p).st_mode):
                out.add(os.path.relpath(p, root))
    return out


class Ran:
    def __init__(self, returncode, stdout):
        self.returncode, self.stdout = returncode, stdout


def settle(root, deadline, quiet=1.5):
    """Until no file was removed for quiet seconds."""
    last, stable_since = None, time.time()
    while time.time() < deadline:
        cur = left_on_disk(root)
        if cur != last:
            last, stable_since = cur, time.time()
        elif time.time() - stable_since > quiet:
            break
        time.sleep(0.1)


def run_daemon(hkd, conf, state, root, n_regs, after=None):
    """The daemon started on the tree: its start-up scans and event-driven
    enforcement must leave what the model leaves. Settled = every
    registration logged its scan, then no file removed for 1.5 s; then
    after() (the filler of a free-space trial), settled again (0.8 s)."""
    log = os.path.join(state, "..", os.path.basename(state) + ".log")
    with open(log, "wb") as out:
        p = subprocess.Popen([hkd, "-f", "-v", "-c", conf, "-S", state], stdout=out,
                             stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            with open(log, "rb") as f:
                if len(re.findall(rb"scan: .*: \d+ files, ", f.read())) >= n_regs:
                    break
            time.sleep(0.05)
        settle(root, deadline)
        if after:
            # the poke's event is looked at once, and the deletions come in
            # one go; without a poke, the periodic check (10 s) is awaited
            after()
            settle(root, time.time() + 30, 0.8 if after.poke else 11)
    finally:
        p.terminate()
        rc = p.wait(timeout=20)
    with open(log, "rb") as f:
        data = f.read()
    os.unlink(log)
    return Ran(0 if rc in (0, -15) else rc, data)


def drop_root(root, on_tmpfs):
    if on_tmpfs:
        free_cleanup(root)
    shutil.rmtree(root)


def free_filler(mnt, root, regs, size):
    """after() of a daemon free-space trial: the filler outside the tree,
    then a FIFO in a registered directory (an event: the daemon looks at
    free space at once). Returns the FIFO's path (removed by the caller)."""
    def after():
        with open(os.path.join(mnt, "filler"), "wb") as f:
            f.write(b"f" * size)
        for reg in regs:
            d = os.path.join(root, reg["dir"]) if reg["dir"] else root
            name = poke_name(reg)
            if reg.get("min_free") is not None and name and os.path.isdir(d) and \
                    not os.path.lexists(os.path.join(d, name)):
                after.poke = os.path.join(d, name)
                os.mkfifo(after.poke)
                return
    after.poke = None
    return after


def trial(hkd, work, seed):
    rng = random.Random(seed)
    mnt = root = os.path.join(work, "tree-%d" % seed)
    state = os.path.join(work, "state-%d" % seed)
    os.makedirs(root)
    os.makedirs(state)
    on_tmpfs = free_setup(seed, root)
    if on_tmpfs:
        STATS["free"] += 1
        if MODE == "daemon":
            root = os.path.join(mnt, "t")   # the filler goes beside it
            os.mkdir(root)
    now = int(time.time())
    files, dirs = build_tree(rng, root, now)
    if on_tmpfs:
        free_align(root, files)
    regs = random_regs(rng, dirs, now, files)
    add_low_watermarks(seed, regs)
    ages = add_empty_dirs(seed, root, dirs, regs, now)
    free = None
    if on_tmpfs:
        free = free_fs(root)
        (free_regs_daemon if MODE == "daemon" else free_regs)(seed, regs, free)
    if not regs:
        drop_root(mnt, on_tmpfs)
        shutil.rmtree(state)
        return True, "no registration"
    # every age stays at least 20 s from a limit (the run takes time)
    if near_boundary(regs, files, now):
        drop_root(mnt, on_tmpfs)
        shutil.rmtree(state)
        STATS["skipped"] += 1
        return True, "skipped: a file sits on a retention boundary"
    conf = os.path.join(work, "hk-%d.conf" % seed)
    write_conf(conf, root, regs)
    others = nonfiles_on_disk(root)
    t0 = time.time_ns()
    # the directories the units selected at t0 take with them (the tree as
    # it is before the run), and the old empty ones
    gone_units = []
    daemon_free = on_tmpfs and MODE == "daemon"
    model(regs, files, t0, None if daemon_free else free, gone_units)
    others -= dirs_removed(root, gone_units)
    others -= empty_dirs_removed(root, regs, dirs, ages)
    STATS["units"] += len(gone_units)
    STATS["empty_dirs"] += len(empty_dirs_removed(root, regs, dirs, ages))

    def want(t):
        if not daemon_free:
            return model(regs, files, t, free)
        alive = model(regs, files, t, None)
        return model_free_phase(regs, files, alive, settled - fill)
    after = None
    if daemon_free:
        settled = free + sum(files[rel][0] for rel in files if rel not in model(regs, files, t0, None))
        fill = free_fill_size(seed, free, settled)
        after = free_filler(mnt, root, regs, fill)
    if MODE == "daemon":
        r = run_daemon(hkd, conf, state, root, len(regs), after)
        if after and after.poke:
            os.unlink(after.poke)
    else:
        r = subprocess.run([hkd, "--once", "-c", conf, "-S", state],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    t1 = time.time_ns()
    got = left_on_disk(root)
    # the model at both ends of the run: ages were kept 20 s from limits,
    # so both must agree
    want0, want1 = want(t0), want(t1)
    ok = r.returncode == 0 and got == want0 == want1 and nonfiles_on_disk(root) == others
    msg = ""
    if not ok:
        lines = ["seed %d: exit %d" % (seed, r.returncode)]
        lines.append("config:\n" + open(conf).read())
        for rel in sorted(files):
            size, m, a = files[rel]
            lines.append("  %-24s size %6d mtime %.3f d ago atime %.3f d ago  want %s got %s" % (
                rel, size, (t0 - m) / 1e9 / DAY, (t0 - a) / 1e9 / DAY,
                "keep" if rel in want0 else "del ", "keep" if rel in got else "del "))
        if free is not None:
            lines.append("free space: %d before, %d after (tmpfs %s)" % (free, free_fs(root), FREE_TMPFS))
        if daemon_free:
            lines.append("filler: %d bytes, free space at the filler %d" % (fill, settled - fill))
        if nonfiles_on_disk(root) != others:
            lines.append("non-files changed: %s -> %s" % (sorted(others), sorted(nonfiles_on_disk(root))))
        lines.append("directory ages (s): %s" % sorted(ages.items()))
        lines.append("daemon output:\n" + r.stdout.decode(errors="replace")[-3000:])
        msg = "\n".join(lines)
    STATS["files"] += len(files)
    STATS["deleted"] += len(files) - len(got)
    drop_root(mnt, on_tmpfs)
    shutil.rmtree(state)
    os.unlink(conf)
    return ok, msg


def main():
    hkd, work, first, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    failed = 0
    for seed in range(first, first + count):
        ok, msg = trial(hkd, work, seed)
        if not ok:
            failed += 1
            print(msg)
            if failed >= 3:
                break
    print("policy model (%s): %d seeds (%d skipped: a file on a retention boundary, %d on a "
          "tmpfs with min_free), %d files, %d deleted, %d units deleted whole, %d empty "
          "directories removed, %d failed" % (
              MODE, count, STATS["skipped"], STATS["free"], STATS["files"], STATS["deleted"],
              STATS["units"], STATS["empty_dirs"], failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
