#!/usr/bin/env python3
"""race.py - attackers of the race scenarios (tests/security/s-race-*.sh).

race.py swap ROOT DECOY STAGE SECONDS MIN_SWAPS SUBDIR...
    Round-robin over the SUBDIRs of ROOT, as fast as possible for SECONDS
    (and at least MIN_SWAPS swaps):
        rename(sub, sub.real); symlink(DECOY, sub);
        move one new file into the real directory (through its fd);
        unlink(sub); rename(sub.real, sub)
    New files get strictly increasing mtimes (1 ms apart, all in the past);
    at exit prints "swaps N" and the names (relative to ROOT) of all the
    files created, oldest first, one per line, on stdout.

race.py replace DIR STAGE SECONDS NAME...
    For SECONDS, for every NAME: rename an OLD version (mtime 2001) over
    it, then at once a FRESH one. The last version of every name is fresh,
    so every NAME must exist at the end, with the content printed last:
    prints "rounds N" then "NAME CONTENT" lines.
"""
import os
import sys
import time

OLD = 978307200


def swap(root, decoy, stage, seconds, min_swaps, subs):
    rfd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    fds = [os.open(s, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=rfd) for s in subs]
    base = time.time() - 50000.0
    created = []
    n = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end or n < min_swaps:
        k = n % len(subs)
        sub, real = subs[k], subs[k] + ".real"
        os.rename(sub, real, src_dir_fd=rfd, dst_dir_fd=rfd)
        os.symlink(decoy, sub, dir_fd=rfd)
        name = "new%07d.dat" % n
        tmp = os.path.join(stage, name)
        with open(tmp, "wb") as f:
            f.write(b"swap %d\n" % n)
        t = base + n * 0.001
        os.utime(tmp, (t, t))
        os.rename(tmp, name, dst_dir_fd=fds[k])
        created.append(sub + "/" + name)
        os.unlink(sub, dir_fd=rfd)
        os.rename(real, sub, src_dir_fd=rfd, dst_dir_fd=rfd)
        n += 1
    print("swaps", n)
    for c in created:
        print(c)


def replace(d, stage, seconds, names):
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    last = {}
    rounds = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        rounds += 1
        for name in names:
            for fresh in (False, True):
                content = b"%s %d %s\n" % (name.encode(), rounds, b"fresh" if fresh else b"old")
                tmp = os.path.join(stage, "tmp")
                with open(tmp, "wb") as f:
                    f.write(content)
                if not fresh:
                    os.utime(tmp, (OLD, OLD))
                os.rename(tmp, name, dst_dir_fd=dfd)
                last[name] = content.decode().strip()
    print("rounds", rounds)
    for name in names:
        print(name, last[name].replace(" ", "_"))


def main():
    if sys.argv[1] == "swap":
        swap(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]), int(sys.argv[6]),
             sys.argv[7:])
    elif sys.argv[1] == "replace":
        replace(sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5:])
    else:
        sys.exit("usage: race.py swap|replace ...")


if __name__ == "__main__":
    main()
