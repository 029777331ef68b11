#!/bin/bash
# Attack: hostile file and directory names: newlines, tabs, leading dashes
# ("-rf", "--help"), glob characters (* ? [ ]), backslashes, invalid UTF-8,
# 255-byte names, names of 1 byte, in a flat and a recursive registration,
# under the C and a UTF-8 locale; plus a decoy whose names would match if a
# glob in a file name were ever expanded.
# Expected: exactly the names matching `*.log` (byte-wise fnmatch) are
# deleted, all others kept, also under LANG=C.UTF-8 (invalid UTF-8 names
# must match like any other); the --once report has one line per deleted
# file (names escaped, no forged lines); the decoy is untouched.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

DECOY="$T/decoy"
sec_make_decoy "$DECOY"
F="$T/flat"
R="$T/rec"
mkdir -p "$F" "$R"
# mknames DIR: hostile names, each in a .log and a .keep variant; prints
# the number of .log files made
mknames() {
	python3 - "$1" <<'EOP'
import os, sys
d = os.fsencode(sys.argv[1])
stems = [b"new\nline", b"tab\there", b"-rf", b"--help", b"-", b"*", b"?", b"[", b"[a-z]",
         b"]", b"\\", b"back\\slash", b"\xff\xfe", b"caf\xc3", b"\xc3\xa9t\xc3\xa9", b" ",
         b"..", b"...", b"deleted      age", b"a\r", b"\x1b[31mred", b"x" * 251,
         b"total: 0 files", b"$(touch pwned)", b"`id`", b";rm -rf ~"]
def old(p):
    try:
        os.utime(p, (978307200, 978307200))
    except FileNotFoundError:
        pass   # a running daemon was faster
n = 0
for s in stems:
    for suffix in (b".log", b".keep"):
        name = s + suffix
        if len(name) > 255:
            continue
        fd = os.open(os.path.join(d, name), os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644)
        os.write(fd, b"data " + name)
        os.close(fd)
        old(os.path.join(d, name))
        n += suffix == b".log"
# 255-byte names, exactly at the limit
for suffix in (b".log", b".keep"):
    name = b"L" * (255 - len(suffix)) + suffix
    open(os.path.join(d, name), "wb").close()
    old(os.path.join(d, name))
n += 1
# hostile directory names (recursive registration) holding one .log each
if os.path.basename(d) == b"rec":
    for s in (b"dir\nnl", b"-dir", b"[d]*", b"\xff", b"D" * 255):
        sub = os.path.join(d, s)
        os.mkdir(sub)
        for suffix in (b".log", b".keep"):
            p = os.path.join(sub, b"f\n" + suffix)
            open(p, "wb").close()
            old(p)
        n += 1
print(n)
EOP
}
# glob traps in the decoy: a name expanded by a shell would reach these
for n in '*.log' 'x.log'; do echo "decoy" >"$DECOY/$n"; done
touch -d '2001-01-01' "$DECOY" "$DECOY"/*.log

write_config <<EOC
[cleanup "flat"]
directory = $F
pattern = *.log
retention = 1s

[cleanup "rec"]
directory = $R
recursive = yes
pattern = *.log
max_files = 0
$(sec_canary_conf)
EOC

cnt() { find "$1" -type f -name "$2" -printf x | wc -c; }
run_locale() {
	local loc=$1 nf nr out=$T/once-$1
	rm -rf "$F" "$R"
	mkdir -p "$F" "$R"
	mknames "$F" >/dev/null
	mknames "$R" >/dev/null
	nf=$(cnt "$F" '*.log') nr=$(cnt "$R" '*.log') kf=$(cnt "$F" '*.keep') kr=$(cnt "$R" '*.keep')
	sec_snap "$DECOY" "$T/decoy.snap"
	LANG=$loc LC_ALL=$loc sec_once "$out" || fail "[$loc] --once failed: $(cat "$out.err")"
	sec_nothing "$F" "$R" -name '*.log' || fail "[$loc] .log files left: $(find "$F" "$R" -name '*.log' | od -c | head)"
	[ "$(cnt "$F" '*.keep')" -eq "$kf" ] || fail "[$loc] .keep files deleted in $F"
	[ "$(cnt "$R" '*.keep')" -eq "$kr" ] || fail "[$loc] .keep files deleted in $R"
	[ "$(grep -c '^deleted ' "$out")" -eq $((nf + nr)) ] ||
		fail "[$loc] report has $(grep -c '^deleted ' "$out") deleted lines for $((nf + nr)) files: $(od -c "$out" | head -30)"
	[ "$(wc -l <"$out")" -eq $((nf + nr + 1)) ] || fail "[$loc] report lines forged: $(cat -A "$out" | head -60)"
	[ ! -e pwned ] && [ ! -e "$F/pwned" ] || fail "a name was run by a shell"
	sec_check "$DECOY" "$T/decoy.snap"
}
run_locale C
run_locale C.UTF-8

# the running daemon: scan and events, under a UTF-8 locale
rm -rf "$F" "$R"
mkdir -p "$F" "$R"
export LANG=C.UTF-8
start_daemon
sec_probe
mknames "$F" >/dev/null
mknames "$R" >/dev/null
sec_probe
wait_until sec_nothing "$F" "$R" -name '*.log' || fail "daemon left .log files: $(find "$F" "$R" -name '*.log' | od -c | head)"
sec_probe
sec_check "$DECOY" "$T/decoy.snap"
[ "$(cnt "$F" '*.keep')" -eq "$kf" ] && [ "$(cnt "$R" '*.keep')" -eq "$kr" ] || fail "daemon deleted .keep files"
stop_daemon || fail "daemon did not stop cleanly"
exit 0
