#!/bin/bash
# Attack: hostile timestamps and sizes.
#  - age limit (retention = 1d): files dated 1901 (negative time), 1970
#    (epoch 0 and 1), 2100 and 2300 (after 2262 a time in int64 ns does not
#    fit), and now. Expected: 1901/1970 go (older than the retention),
#    2100/2300/now stay (a future file is not old).
#  - keep-newest (max_files = 2) with a 2300-dated file among files of the
#    last hours: the 2300 file is the newest and stays.
#  - size limit: the project counts the apparent size st_size (SPEC 5),
#    not allocated blocks: a 100 MiB sparse file (no blocks) that is the
#    oldest is deleted to get under max_size = 5M and two 1 MiB files
#    stay; a 3 MiB sparse newest file pushes the oldest of two 1 MiB files
#    out under max_size = 4M. (Counting blocks would delete nothing.)
# Both with --once and with the running daemon (scan + events).
#
# FOUND (see report): scan.c:scan_ts_ns computes tv_sec * 1e9 + tv_nsec in
# int64 without saturation; for tv_sec > 9223372036 (2262-04-11) it
# overflows (undefined behaviour; wraps to a large negative key in
# practice), so a file dated 2300 looks 300 years OLD: deleted at once by
# any retention and first by max_files. The 2300 assertions fail until
# that is fixed (saturate, as policy.c does).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

A="$T/age"
C="$T/count"
S1="$T/size1"
S2="$T/size2"
setup() {
	rm -rf "$A" "$C" "$S1" "$S2"
	mkdir -p "$A" "$C" "$S1" "$S2"
	local now
	now=$(date +%s)
	echo x >"$A/y1901.log" && touch -d '1901-12-20 00:00:00 UTC' "$A/y1901.log"
	echo x >"$A/y1970-0.log" && touch -d '@0' "$A/y1970-0.log"
	echo x >"$A/y1970-1.log" && touch -d '@1' "$A/y1970-1.log"
	echo x >"$A/y2100.log" && touch -d '2100-01-01 00:00:00 UTC' "$A/y2100.log"
	echo x >"$A/y2300.log" && touch -d '2300-01-01 00:00:00 UTC' "$A/y2300.log"
	echo x >"$A/now.log"
	echo x >"$C/y2300.log" && touch -d '2300-01-01 00:00:00 UTC' "$C/y2300.log"
	for h in 1 2 3; do echo x >"$C/h$h.log" && touch -d "@$((now - h * 3600))" "$C/h$h.log"; done
	truncate -s 100M "$S1/sparse-old.bin" && touch -d "@$((now - 300))" "$S1/sparse-old.bin"
	head -c 1M /dev/zero >"$S1/a.bin" && touch -d "@$((now - 200))" "$S1/a.bin"
	head -c 1M /dev/zero >"$S1/b.bin" && touch -d "@$((now - 100))" "$S1/b.bin"
	head -c 1M /dev/zero >"$S2/a.bin" && touch -d "@$((now - 300))" "$S2/a.bin"
	head -c 1M /dev/zero >"$S2/b.bin" && touch -d "@$((now - 200))" "$S2/b.bin"
	truncate -s 3M "$S2/sparse-new.bin" && touch -d "@$((now - 100))" "$S2/sparse-new.bin"
	[ "$(stat -c %b "$S1/sparse-old.bin")" -lt 100 ] || skip "filesystem without sparse files"
}
write_config <<EOC
[cleanup "age"]
directory = $A
retention = 1d

[cleanup "count"]
directory = $C
max_files = 2

[cleanup "size1"]
directory = $S1
max_size = 5M

[cleanup "size2"]
directory = $S2
max_size = 4M
$(sec_canary_conf)
EOC
expect() {   # expect WHAT DIR NAMES...: the sorted names left in DIR
	local what=$1 d=$2 want got
	shift 2
	want=$(printf '%s\n' "$@" | LC_ALL=C sort)
	got=$(names "$d")
	if [ "$got" != "$want" ]; then
		case "$want$got" in
		*y2300*) sec_fail_later "$what: $d has [$(echo $got)], expected [$(echo $want)] (2300 time overflow)" ;;
		*) fail "$what: $d has [$(echo $got)], expected [$(echo $want)]" ;;
		esac
	fi
}
check_all() {
	expect "$1" "$A" now.log y2100.log y2300.log
	expect "$1" "$C" h1.log y2300.log
	expect "$1" "$S1" a.bin b.bin
	expect "$1" "$S2" b.bin sparse-new.bin
}

setup
sec_once "$T/once1" || fail "--once failed: $(cat "$T/once1.err")"
check_all "--once"
# the report counts apparent bytes: 100 MiB for the sparse file
grep -q "^deleted .*size .*100.*M.*sparse-old.bin" "$T/once1" ||
	fail "sparse file not reported with its apparent size: $(grep sparse "$T/once1")"

setup
start_daemon
sec_probe
wait_until test ! -e "$S2/a.bin" || fail "size limit not enforced at scan"
wait_until test ! -e "$A/y1901.log" || fail "age limit not enforced at scan"
sec_probe
check_all "daemon scan"
# events: the same files arriving while it runs
now=$(date +%s)
echo x >"$T/st" && touch -d '2300-06-01 00:00:00 UTC' "$T/st" && mv "$T/st" "$A/y2300b.log"
echo x >"$T/st" && touch -d '@0' "$T/st" && mv "$T/st" "$A/y1970-2.log"
echo x >"$T/st" && touch -d "@$((now - 7200))" "$T/st" && mv "$T/st" "$C/h2b.log"
truncate -s 4M "$T/st" && mv "$T/st" "$S1/sparse-new.bin"   # 1M + 1M + 4M > 5M
sec_probe
wait_until test ! -e "$A/y1970-2.log" || fail "1970 file not deleted on event"
wait_until test ! -e "$S1/a.bin" || fail "sparse newcomer did not push the oldest out (apparent size)"
sec_probe
expect "daemon events" "$A" now.log y2100.log y2300.log y2300b.log
expect "daemon events" "$C" h1.log y2300.log
expect "daemon events" "$S1" b.bin sparse-new.bin
stop_daemon || fail "daemon did not stop cleanly"
sec_finish
