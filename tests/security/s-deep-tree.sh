#!/bin/bash
# Attack: a very deep tree (depth 200, 40-byte names: the full paths are
# about 8,200 bytes, twice PATH_MAX) in a recursive registration under an
# age limit, with a symlink to the decoy at the bottom; then new files at
# the deepest level while the daemon runs.
# Expected: at every level the old *.log goes and the fresh *.log and the
# *.keep stay (--once and running daemon); no hang, no crash, the decoy is
# untouched.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

DECOY="$T/decoy"
sec_make_decoy "$DECOY"
R="$T/deep"
mkdir -p "$R"
DEPTH=200
# deep.py DIR DEPTH ACTION: walk/create the chain with directory fds only
cat >"$T/deep.py" <<'EOP'
import os, sys
root, depth, action = sys.argv[1], int(sys.argv[2]), sys.argv[3]
seg = "level-%03d-" + "x" * 30
fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
old = 978307200
for i in range(depth):
    name = seg % i
    if action == "make":
        os.mkdir(name, dir_fd=fd)
    nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
    os.close(fd)
    fd = nfd
    if action == "make":
        for n, t in (("old.log", old), ("fresh.log", None), ("old.keep", old)):
            f = os.open(n, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
            os.write(f, b"level %d\n" % i)
            os.close(f)
            if t:
                os.utime(n, (t, t), dir_fd=fd)
    elif action == "count":
        pass
if action == "make":
    os.symlink(sys.argv[4], "to-decoy", dir_fd=fd)
    os.symlink(sys.argv[4] + "/a.log", "to-decoy.log", dir_fd=fd)
elif action == "newold":
    f = os.open("late.log", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
    os.close(f)
    os.utime("late.log", (old, old), dir_fd=fd)
    f = os.open("late-fresh.log", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
    os.close(f)
elif action == "has":
    try:
        os.stat(sys.argv[4], dir_fd=fd, follow_symlinks=False)
        sys.exit(0)
    except FileNotFoundError:
        sys.exit(1)
EOP
python3 "$T/deep.py" "$R" $DEPTH make "$DECOY"
cnt() { find "$R" -name "$1" -printf x | wc -c; }
[ "$(cnt fresh.log)" -eq $DEPTH ] || fail "setup: $(cnt fresh.log) levels"

write_config <<EOC
[cleanup "deep"]
directory = $R
recursive = yes
pattern = *.log
retention = 1h
$(sec_canary_conf)
EOC
sec_snap "$DECOY" "$T/decoy.snap"
sec_once "$T/once1" || fail "--once failed: $(tail -3 "$T/once1.err")"
[ "$(cnt old.log)" -eq 0 ] || fail "--once left $(cnt old.log) old files"
[ "$(cnt fresh.log)" -eq $DEPTH ] || fail "--once deleted fresh files: $(cnt fresh.log) left"
[ "$(cnt old.keep)" -eq $DEPTH ] || fail "--once deleted non-matching files"
[ "$(grep -c '^deleted' "$T/once1")" -eq $DEPTH ] || fail "report: $(grep -c '^deleted' "$T/once1") lines"
sec_check "$DECOY" "$T/decoy.snap"

python3 "$T/deep.py" "$R" $DEPTH newold   # before the start: found by the scan
start_daemon
sec_probe
wait_until sh -c "! python3 '$T/deep.py' '$R' $DEPTH has late.log" || fail "old file at depth $DEPTH not deleted at scan"
python3 "$T/deep.py" "$R" $DEPTH newold   # while running: an event at depth 200
sec_probe
wait_until sh -c "! python3 '$T/deep.py' '$R' $DEPTH has late.log" || fail "old file at depth $DEPTH not deleted on event"
python3 "$T/deep.py" "$R" $DEPTH has late-fresh.log || fail "fresh file at depth $DEPTH deleted"
[ "$(cnt fresh.log)" -eq $DEPTH ] || fail "daemon deleted fresh files"
sec_check "$DECOY" "$T/decoy.snap"
sec_probe
stop_daemon || fail "daemon did not stop cleanly"
exit 0
