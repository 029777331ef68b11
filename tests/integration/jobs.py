#!/usr/bin/env python3
"""jobs.py: the job protocol of the control socket, raw (run_cleanup with
no_wait, wait_job, jobs), for the t-job-*.sh tests.

jobs.py mkfiles DIR N AGE      N empty files f000000... aged AGE seconds
jobs.py submit SOCK ID|- DRY   run_cleanup {id, dry_run, no_wait}: prints the job id
jobs.py queue SOCK ID...      dry runs of each ID with no_wait, then jobs:
                               prints {"ids": [...], "jobs": [...]}
jobs.py nowait SOCK            a dry run of all with no_wait, then wait_job
                               with timeout 0 and without: prints
                               {"id", "submit_seconds", "w0", "w"}
jobs.py wait SOCK JOB [T]      wait_job {job_id, timeout?}: prints the result
jobs.py jobs SOCK              jobs: prints the array
jobs.py call SOCK OP ARGS      any op with ARGS (JSON): prints the response
jobs.py latency SOCK HKCTL N   once a manual job runs, times N `HKCTL status`
                               calls; prints "samples S running R max M"
                               (R: calls during which the job was running
                               before and after, M: their longest, seconds)
"""
import json
import os
import socket
import subprocess
import sys
import time

from hkproto import exchange


def call(path, op, args):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    resp = exchange(s, 1, op, args)
    s.close()
    return resp


def result(resp):
    if not resp.get("ok"):
        print("error: %s" % resp.get("error"), file=sys.stderr)
        sys.exit(1)
    return resp.get("result")


def running_manual(path):
    jobs = result(call(path, "jobs", {}))
    return any(j["trigger"] == "manual" and j["outcome"] == "running" for j in jobs)


def main():
    cmd = sys.argv[1]
    if cmd == "mkfiles":
        d, n, age = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        t = time.time() - age
        for i in range(n):
            p = os.path.join(d, "f%06d" % i)
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o644))
            os.utime(p, (t, t))
        return
    path = sys.argv[2]
    if cmd == "submit":
        rid = None if sys.argv[3] == "-" else sys.argv[3]
        args = {"id": rid, "dry_run": sys.argv[4] == "dry", "no_wait": True}
        print(result(call(path, "run_cleanup", args))["job_id"])
    elif cmd == "queue":
        ids = []
        for rid in sys.argv[3:]:
            args = {"id": rid, "dry_run": True, "no_wait": True}
            ids.append(result(call(path, "run_cleanup", args))["job_id"])
        print(json.dumps({"ids": ids, "jobs": result(call(path, "jobs", {}))}))
    elif cmd == "nowait":
        # submit with no_wait, then at once a wait of 0 s and a wait to the
        # end (in one process: the job cannot end before the waits start)
        t0 = time.monotonic()
        jid = result(call(path, "run_cleanup", {"dry_run": True, "no_wait": True}))["job_id"]
        t1 = time.monotonic()
        w0 = result(call(path, "wait_job", {"job_id": jid, "timeout": 0}))
        w = result(call(path, "wait_job", {"job_id": jid}))
        print(json.dumps({"id": jid, "submit_seconds": t1 - t0, "w0": w0, "w": w}))
    elif cmd == "wait":
        args = {"job_id": int(sys.argv[3])}
        if len(sys.argv) > 4:
            args["timeout"] = float(sys.argv[4])
        print(json.dumps(result(call(path, "wait_job", args))))
    elif cmd == "jobs":
        print(json.dumps(result(call(path, "jobs", {}))))
    elif cmd == "call":
        print(json.dumps(call(path, sys.argv[3], json.loads(sys.argv[4]))))
    elif cmd == "latency":
        hkctl, n = sys.argv[3], int(sys.argv[4])
        deadline = time.monotonic() + 20
        while not running_manual(path):
            if time.monotonic() > deadline:
                print("samples 0 running 0 max 0")
                return
            time.sleep(0.01)
        samples = running = 0
        worst = 0.0
        for _ in range(n):
            before = running_manual(path)
            t0 = time.monotonic()
            subprocess.run([hkctl, "-s", path, "--json", "status"], check=True,
                           stdout=subprocess.DEVNULL)
            dt = time.monotonic() - t0
            after = running_manual(path)
            samples += 1
            if before and after:
                running += 1
                worst = max(worst, dt)
            if not after:
                break
        print("samples %d running %d max %.3f" % (samples, running, worst))


main()
