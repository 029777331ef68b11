#!/bin/bash
# bench/mem.sh - anonymous memory per indexed file after a cold start, and
# the cold index time against find -printf (issue 7).
#
#   bench/mem.sh [FS...]        FS: tmpfs ext4 (default both)
#
# For each file system: N files (MEM_FILES, default 100000) of 64 bytes
# named app-NNNNNN.log (14 bytes) in one directory. An empty daemon (one
# registration on an empty directory) gives the baseline RssAnon; then
# MEM_RUNS (default 5) cold starts (empty state dir), alternating with
# `find DIR -printf '%s %T@\n'`. For each cold start: the time from the
# daemon's start to its "scan: DIR: N files" line, and RssAnon once the
# registration is no longer scanning, its index is stored ("index stored")
# and the store has committed (MEM_SETTLE seconds, default 1). Prints
# per-run lines and the medians:
#   B/file = (RssAnon - empty RssAnon) / N;  cold/find = cold ms / find ms.
# tmpfs is mounted under the work dir (root only); ext4 is a dir under
# /tmp (MEM_DISK to choose another). Programs: HKD, HKCTL, or BENCH_BUILD
# (the build dir), default the current directory.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
N=${MEM_FILES:-100000}
RUNS=${MEM_RUNS:-5}
SETTLE=${MEM_SETTLE:-1}
FSLIST=${*:-tmpfs ext4}
B=${BENCH_BUILD:-$PWD}
HKD=${HKD:-$B/housekeeperd}
HKCTL=${HKCTL:-$B/housekeeperctl}
[ -x "$HKD" ] && [ -x "$HKCTL" ] || { echo "mem.sh: set HKD/HKCTL or BENCH_BUILD" >&2; exit 2; }

WORK=$(mktemp -d /tmp/hkmem.XXXXXX)
TMPFS=
. "$HERE/lib.sh"
cleanup() {
	set +e
	[ -n "$HKD_PID" ] && kill -9 "$HKD_PID" 2>/dev/null
	wait 2>/dev/null
	[ -n "$TMPFS" ] && { umount "$TMPFS" 2>/dev/null || umount -l "$TMPFS"; }
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HKB=$WORK/hkb
cc -O2 -pthread -o "$HKB" "$HERE/hkb.c" || exit 2

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

wait_watching() {   # wait_watching STATE: the registration scanned, writes committed
	local out
	for _ in $(seq 1 3000); do
		out=$("$HKCTL" -s "$1/housekeeper.sock" --json status 2>/dev/null) &&
			! echo "$out" | grep -q '"state": *"\(scanning\|loading\)' && break
		sleep 0.02
	done
	sleep "$SETTLE"
}
conf() {   # conf DIR FILE
	printf '[cleanup "m"]\ndirectory = %s\nmax_files = 1000000\n' "$1" >"$2"
}
mkfiles() {   # mkfiles DIR N
	mkdir -p "$1"
	perl -e 'my ($d, $n) = @ARGV; my $x = "x" x 64;
		for my $i (0 .. $n - 1) {
			my $f = sprintf("%s/app-%06u.log", $d, $i);
			open(my $fh, ">", $f) or die "$f: $!"; print $fh $x; close($fh);
		}' "$1" "$2"
}

for fs in $FSLIST; do
	case $fs in
	tmpfs)
		[ "$(id -u)" = 0 ] || { echo "tmpfs: skipped (not root)"; continue; }
		mkdir -p "$WORK/tmpfs"
		mount -t tmpfs -o size=2g,mode=755 hkmem "$WORK/tmpfs" || continue
		TMPFS=$WORK/tmpfs
		root=$TMPFS ;;
	ext4) root=${MEM_DISK:-$WORK/disk} ;;
	*) echo "mem.sh: unknown fs $fs" >&2; exit 2 ;;
	esac
	mkdir -p "$root"
	d=$root/files
	mkfiles "$d" "$N"
	mkdir -p "$root/empty"
	sync -f "$d" 2>/dev/null || sync

	conf "$root/empty" "$WORK/empty.conf"
	rm -rf "$WORK/state-empty"
	start_hkd "$WORK/empty.conf" "$WORK/state-empty" "$WORK/empty.log" -v
	wait_watching "$WORK/state-empty"
	rss0=$(rss_anon "$HKD_PID")
	stop_hkd

	conf "$d" "$WORK/files.conf"
	: >"$WORK/res"
	for r in $(seq 1 "$RUNS"); do
		order="hk find"
		[ $((r % 2)) = 0 ] && order="find hk"
		for what in $order; do
			case $what in
			find)
				find_ns=$("$HKB" time find "$d" -printf '%s %T@\n' 2>&1 >/dev/null | tail -1 | cut -d' ' -f1) ;;
			hk)
				st=$WORK/state-$r
				rm -rf "$st"
				start_hkd "$WORK/files.conf" "$st" "$WORK/cold.log" -v
				t_end=$("$HKB" waitlog "$WORK/cold.log" ": $N files" 300) || echo "run $r: no scan line" >&2
				t_start=$(head -1 "$WORK/cold.log" | cut -d' ' -f1)
				cold_ns=$((t_end - t_start))
				# after its first scan a cold index is written to the store:
				# memory is counted once that is done
				"$HKB" waitlog "$WORK/cold.log" "index stored" 300 >/dev/null ||
					echo "run $r: no 'index stored' line" >&2
				wait_watching "$st"
				rss=$(rss_anon "$HKD_PID")
				stop_hkd
				rm -rf "$st" ;;
			esac
		done
		awk -v fs="$fs" -v r="$r" -v c="$cold_ns" -v f="$find_ns" -v rss="$rss" -v rss0="$rss0" -v n="$N" 'BEGIN {
			printf "%s run %d: cold %.1f ms, find %.1f ms, cold/find %.3f, RssAnon %d kB (empty %d kB), %.1f B/file\n",
				fs, r, c / 1e6, f / 1e6, c / f, rss, rss0, (rss - rss0) * 1024 / n }'
		echo "$cold_ns $find_ns $rss" >>"$WORK/res"
	done
	cold_m=$(cut -d' ' -f1 "$WORK/res" | median)
	find_m=$(cut -d' ' -f2 "$WORK/res" | median)
	rss_m=$(cut -d' ' -f3 "$WORK/res" | median)
	ratio_m=$(awk '{ print $1 / $2 }' "$WORK/res" | median)
	awk -v fs="$fs" -v c="$cold_m" -v f="$find_m" -v q="$ratio_m" -v rss="$rss_m" -v rss0="$rss0" -v n="$N" 'BEGIN {
		printf "%s median: cold %.1f ms, find %.1f ms, cold/find %.3f (median of ratios), %.1f B/file (RssAnon %d kB, empty %d kB, %d files)\n",
			fs, c / 1e6, f / 1e6, q, (rss - rss0) * 1024 / n, rss, rss0, n }'
	rm -rf "$d"
	if [ "$fs" = tmpfs ]; then
		umount "$TMPFS" 2>/dev/null || umount -l "$TMPFS"
		TMPFS=
	fi
done
