#!/bin/bash
# bench/run.sh [scenario...] - housekeeper against its floors and its peers.
#
# Scenarios: churn paced sweep owner index persistence idle (default: all of
# them),
# plus, not in the default set: "profile" (strace -c syscall counts per
# deleted file and a perf profile) and "control-latency" (p50/p99/max of
# `status` on the control socket, idle and while a 1M-file manual dry run,
# a 300k-file mass deletion, 20 audit readers and the flat-out churn writer
# run; tmpfs, needs root).
#
# Every scenario runs BENCH_RUNS times (default 5), contender and baselines
# alternating within each run (the order rotates from run to run), and
# reports per-run ratios as median [min-max]: the machine is shared and
# noisy, so absolute times are only context, never comparable across runs.
#
# Environment:
#   BENCH_RUNS=5          repetitions
#   BENCH_QUICK=1         idle minute shortened to 10 s, paced churn to
#                         1 s/run, control-latency at 1/10 of its sizes
#   BENCH_CHURN_FILES=200000  files the flat-out churn writer creates per run
#                         (issue 16: a 1-second run hides the backlog; 0 =
#                         time-bound by BENCH_CHURN_SECONDS instead)
#   BENCH_BIG=1           also 1M files for sweep and index
#   BENCH_FS="tmpfs ext4" file systems (tmpfs needs root; skipped otherwise)
#   BENCH_OUT=FILE        where the result table goes (default: printed, and
#                         kept in bench-results.md in the current directory)
#   HKD=path HKCTL=path   the daemon and CLI (default: ./housekeeperd of the
#                         current directory, as `make bench` runs it, else
#                         /tmp/b-bench)
#   BENCH_SWEEP_FILES=100000 BENCH_SWEEP_FILES_EXT4=5000
#   BENCH_INDEX_FILES=100000 BENCH_CHURN_SECONDS=3 BENCH_IDLE_RUNS=1
#   BENCH_PACED_RATES="5000 10000 20000" BENCH_PACED_RATES_EXT4="500 1000"
#   BENCH_HK_SCHEDULER="key = value"  [scheduler] lines for the churn daemons
#   control-latency: BENCH_CL_DRY_FILES=1000000 BENCH_CL_DEL_FILES=300000
#   BENCH_CL_AUDIT_RECORDS=100000 BENCH_CL_READERS=20 BENCH_CL_SECONDS=20
#   (the readers' and the writer's window) BENCH_CL_IDLE_SECONDS=10
#   BENCH_CL_INTERVAL=0.02 (s between the probe's requests)
#   BENCH_CL_CASES="dry delete audit churn" (idle always runs); BENCH_QUICK:
#   1/10 of the sizes, 5 s windows, 3 s idle
#
# Needs: cc, find; optional peers: systemd-tmpfiles, tmpreaper, watchman
# (BENCH_INSTALL=1 lets it apt-get install the missing ones).
set -u
export LC_ALL=C

HERE=$(cd "$(dirname "$0")" && pwd)
RUNS=${BENCH_RUNS:-5}
QUICK=${BENCH_QUICK:-0}
BIG=${BENCH_BIG:-0}
FSLIST=${BENCH_FS:-tmpfs ext4}
SWEEP_N=${BENCH_SWEEP_FILES:-100000}
# ext4 here is a shared virtual disk mounted with discard: an unlink waits
# on the journal (~2.5 ms each, whatever the tool), so the ext4 sweep uses
# a smaller tree to stay within the time budget
SWEEP_N_EXT4=${BENCH_SWEEP_FILES_EXT4:-5000}
INDEX_N=${BENCH_INDEX_FILES:-100000}
CHURN_S=${BENCH_CHURN_SECONDS:-3}
CHURN_FILES=${BENCH_CHURN_FILES:-200000}
CHURN_N=100000000   # files per churn run (the flat-out scenario sets CHURN_FILES)
CHURN_MAX=1000
CHURN_RATE=0   # files/s of the churn writer; 0 = flat out
# ms between two reads of the bench's own inotify watcher (hkb churn
# WATCH_MS): reading each burst at once woke it ~3,000 times a second under
# the flat-out writer, each wake-up preempting the cleaner it measures; the
# paced scenario keeps 0 (its deletion latencies are timed to the read)
CHURN_WATCH_MS=${BENCH_CHURN_WATCH_MS:-2}
PACED_RATES=${BENCH_PACED_RATES:-5000 10000 20000}
PACED_RATES_EXT4=${BENCH_PACED_RATES_EXT4:-500 1000}
IDLE_S=60
if [ "$QUICK" = 1 ]; then
	IDLE_S=10
	CHURN_S=1
fi

find_bin() {   # find_bin NAME: the built program
	for d in "${BENCH_BUILD:-}" "$PWD" /tmp/b-bench; do
		[ -n "$d" ] && [ -x "$d/$1" ] && { echo "$d/$1"; return; }
	done
}
HKD=${HKD:-$(find_bin housekeeperd)}
HKCTL=${HKCTL:-$(find_bin housekeeperctl)}
[ -n "$HKD" ] && [ -x "$HKD" ] || { echo "run.sh: housekeeperd not found (set HKD)" >&2; exit 2; }
[ -n "$HKCTL" ] && [ -x "$HKCTL" ] || { echo "run.sh: housekeeperctl not found (set HKCTL)" >&2; exit 2; }
# In a build tree ./housekeeperctl is libtool's wrapper script, which spawns
# a shell and a dozen sed and friends per call (~100 ms of CPU): the audit
# readers of control-latency measured that, not the CLI. Run the program
# itself, as an installed one runs.
if head -c 2 "$HKCTL" | grep -q '#!' && [ -x "$(dirname "$HKCTL")/.libs/housekeeperctl" ]; then
	export LD_LIBRARY_PATH="$(cd "$(dirname "$HKCTL")/.libs" && pwd)${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
	HKCTL=$(dirname "$HKCTL")/.libs/housekeeperctl
fi

WORK=$(mktemp -d /tmp/hkbench.XXXXXX)
TMPFS=
. "$HERE/lib.sh"
cleanup() {
	set +e
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	# daemons started in command substitutions: found by our unique work dir
	for c in /proc/[0-9]*/cmdline; do
		p=${c#/proc/}
		p=${p%/cmdline}
		[ "$p" != $$ ] && { tr '\0' ' ' <"$c"; } 2>/dev/null | grep -q -- "$WORK/" && kill -9 "$p" 2>/dev/null
	done
	[ -n "${WM_SOCK:-}" ] && watchman --sockname="$WM_SOCK" shutdown-server >/dev/null 2>&1
	wait 2>/dev/null
	# keep the raw per-run values even when a scenario failed half-way
	[ -s "${RES:-}" ] && cp "$RES" "${BENCH_OUT:-bench-results.md}.raw" 2>/dev/null
	[ -n "$TMPFS" ] && { umount "$TMPFS" 2>/dev/null || umount -l "$TMPFS"; }
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

HKB=$WORK/tools/hkb
mkdir -p "$WORK/tools"
cc -O2 -pthread -o "$HKB" "$HERE/hkb.c" || { echo "run.sh: cannot build bench/hkb.c" >&2; exit 2; }

RES=$WORK/results.txt     # lines: scenario|fs|metric|value
: >"$RES"
NOTES=$WORK/notes.txt
: >"$NOTES"
note() { echo "$*" | tee -a "$NOTES" >&2; }
put() { echo "$1|$2|$3|$4" >>"$RES"; }
log() { echo "[$(date +%T)] $*" >&2; }

if [ "${BENCH_INSTALL:-0}" = 1 ]; then
	for p in tmpreaper watchman; do
		command -v "$p" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$p" >/dev/null 2>&1
	done
	command -v systemd-tmpfiles >/dev/null ||
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q systemd >/dev/null 2>&1
fi

# fs roots: tmpfs mounted under WORK once, up front (root only); ext4 = a
# dir on /tmp's file system. fs_root only names them (it runs in subshells).
setup_fs() {
	mkdir -p "$WORK/disk"
	case " $FSLIST " in *" tmpfs "*) ;; *) [ "${NEED_TMPFS:-0}" = 1 ] || return 0 ;; esac
	if [ "$(id -u)" = 0 ] && mkdir -p "$WORK/tmpfs" &&
		mount -t tmpfs -o size=8g,mode=755 hkbench "$WORK/tmpfs"; then
		TMPFS=$WORK/tmpfs
	else
		note "tmpfs: skipped (needs root to mount one)"
	fi
}
fs_root() {
	case $1 in
	tmpfs) [ -n "$TMPFS" ] || return 1; echo "$TMPFS" ;;
	ext4) echo "$WORK/disk" ;;
	esac
}
fs_list() {
	for fs in $FSLIST; do
		fs_root "$fs" >/dev/null && echo "$fs"
	done
}

now() { "$HKB" now; }
# time_cmd CMD...: run, echo "wall_ns user_ns sys_ns rc"
time_cmd() { "$HKB" time "$@" 2>&1 >/dev/null | tail -1; }
ns_div() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.4f", a / b; else print "nan" }'; }
ms() { awk -v a="$1" 'BEGIN { printf "%.1f", a / 1e6 }'; }
kv() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }   # kv LINE KEY

hk_files() {   # hk_files SOCK: "files" of the first registration, or -1
	"$HKCTL" -s "$1" --json status 2>/dev/null |
		awk -F': *' '/"files"/ { gsub(/[ ,]/, "", $2); print $2; found = 1; exit } END { if (!found) print -1 }'
}
hk_all_watching() {   # no registration still scanning
	local out
	out=$("$HKCTL" -s "$1" --json status 2>/dev/null) || return 1
	! echo "$out" | grep -q '"state": *"\(scanning\|loading\)'
}

# ---------------------------------------------------------------- churn --
churn_daemon_run() {   # churn_daemon_run ROOT STATEDIR TAG [DAEMON OPTION...] -> the hkb churn line
	local root=$1 state=$2 tag=$3
	shift 3
	local d
	d=$root/churn-$tag
	rm -rf "$d" "$state"
	mkdir -p "$d" "$state"
	{
		[ -n "${BENCH_HK_SCHEDULER:-}" ] && printf '[scheduler]\n%s\n' "$BENCH_HK_SCHEDULER"
		cat <<EOF
[cleanup "churn"]
directory = $d
max_files = $CHURN_MAX
EOF
	} >"$WORK/churn-$tag.conf"
	start_hkd "$WORK/churn-$tag.conf" "$state" "$WORK/churn-$tag.log" "$@"
	"$HKB" waitlog "$WORK/churn-$tag.log" "started" 10 >/dev/null || note "churn: daemon did not start"
	sleep 0.2
	"$HKB" churn "$d" "$CHURN_N" "$CHURN_MAX" none "$CHURN_S" "$CHURN_RATE" "$CHURN_WATCH_MS"
	stop_hkd
	rm -rf "$d"
}
# churn_self_run ROOT MODE: the writer without a daemon; MODE self is the
# ideal writer (it unlinks its own file i-MAX), floor hkb's floor cleaner
# (a child process doing only what SPEC 7 asks per file: a statx of each
# new name; per excess file renameat2 aside, statx, unlinkat; /proc/locks
# read per 256): what it cannot keep below the limit no cleaner that
# re-checks each file can, on this machine; rawfloor the same child doing
# nothing but an unlinkat of each excess name: the floor of any cleaner.
churn_self_run() {
	local root=$1 mode=$2
	local d=$root/churn-$mode
	rm -rf "$d"
	mkdir -p "$d"
	"$HKB" churn "$d" "$CHURN_N" "$CHURN_MAX" "$mode" "$CHURN_S" "$CHURN_RATE" "$CHURN_WATCH_MS"
	rm -rf "$d"
}
# churn_pair ROOT RUN: the daemon's run into a, the ideal writer's into b,
# the floor cleaner's into f (the caller's locals), the order rotating
# with the run number; with CHURN_RAW=1 also the raw floor's into w.
churn_pair() {
	local k
	for k in $(churn_order "$2"); do
		case $k in
		a) a=$(churn_daemon_run "$1" "$1/state-churn" d) ;;
		b) b=$(churn_self_run "$1" self) ;;
		f) f=$(churn_self_run "$1" floor) ;;
		w) w=$(churn_self_run "$1" rawfloor) ;;
		esac
	done
}
churn_order() {   # churn_order RUN: the runs' letters, rotated by RUN
	if [ "${CHURN_RAW:-0}" = 1 ]; then rotate "$1" a b f w; else rotate "$1" a b f; fi
}
churn_record() {   # churn_record SCEN FS PREFIX LINE
	local l=$4
	put "$1" "$2" "$3rate" "$(kv "$l" rate)"
	put "$1" "$2" "$3max_events" "$(kv "$l" max_events)"
	put "$1" "$2" "$3max_sampled" "$(kv "$l" max_sampled)"
	put "$1" "$2" "$3lat_p50_ms" "$(awk -v v="$(kv "$l" lat_p50_us)" 'BEGIN{printf "%.3f", v/1000}')"
	put "$1" "$2" "$3lat_p99_ms" "$(awk -v v="$(kv "$l" lat_p99_us)" 'BEGIN{printf "%.3f", v/1000}')"
	put "$1" "$2" "$3drain_ms" "$(ms "$(kv "$l" drain_ns)")"
	# deletions per second the cleaner sustained over the whole run
	put "$1" "$2" "$3deletes_per_s" "$(awk -v c="$(kv "$l" created)" -v m=$CHURN_MAX \
		-v e="$(kv "$l" elapsed_ns)" -v d="$(kv "$l" drain_ns)" 'BEGIN{printf "%.0f", (c-m)/((e+d)/1e9)}')"
	[ "$(kv "$l" overflows)" = 0 ] || note "$1/$2: the bench watcher's inotify queue overflowed"
}
churn_floor_rows() {   # churn_floor_rows FS NAME LINE IDEAL_LINE: a floor cleaner's target rows
	put churn "$1" "$2:slowdown(ideal_rate/$2_rate)" "$(ns_div "$(kv "$4" rate)" "$(kv "$3" rate)")"
	put churn "$1" "$2:max_entries/max_files" "$(ns_div "$(kv "$3" max_events)" $CHURN_MAX)"
	put churn "$1" "$2:limit_back_ms" "$(ms "$(kv "$3" drain_ns)")"
}
# The flat-out writer: BENCH_CHURN_FILES (200,000) files per run, no time
# bound (BENCH_CHURN_FILES=0: BENCH_CHURN_SECONDS instead). The targets
# (issue 16): writer <= 1.25x the self-cleaning writer's time, entries <=
# 1.1x the limit, the limit back <= 1 s after the writer stops
# (hk_drain_ms: the writer's last create until getdents counts <= MAX).
scen_churn() {
	local keep_s=$CHURN_S keep_n=$CHURN_N
	if [ "$CHURN_FILES" -gt 0 ]; then
		CHURN_S=0
		CHURN_N=$CHURN_FILES
	fi
	for fs in $(fs_list); do
		local root
		root=$(fs_root "$fs")
		for r in $(seq 1 "$RUNS"); do
			log "churn $fs run $r/$RUNS ($([ "$CHURN_S" = 0 ] && echo "$CHURN_N files" || echo "${CHURN_S} s"))"
			local a b f w
			CHURN_RAW=1 churn_pair "$root" "$r"
			churn_record churn "$fs" hk_ "$a"
			churn_record churn "$fs" ideal_ "$b"
			churn_record churn "$fs" floor_ "$f"
			put churn "$fs" "slowdown(ideal_rate/hk_rate)" "$(ns_div "$(kv "$b" rate)" "$(kv "$a" rate)")"
			put churn "$fs" "max_entries/max_files" "$(ns_div "$(kv "$a" max_events)" $CHURN_MAX)"
			put churn "$fs" "limit_back_ms" "$(ms "$(kv "$a" drain_ns)")"
			churn_floor_rows "$fs" floor "$f" "$b"
			churn_record churn "$fs" rawfloor_ "$w"
			churn_floor_rows "$fs" rawfloor "$w" "$b"
			put churn "$fs" "files_created" "$(kv "$a" created)"
		done
	done
	CHURN_S=$keep_s
	CHURN_N=$keep_n
}

# ----------------------------------------------------------------- paced --
# The churn of a writer at a fixed rate below the daemon's capacity (the
# flat-out writer of "churn" outruns it on this machine): entries and
# latency while the daemon keeps up.
scen_paced() {
	for fs in $(fs_list); do
		local root rates
		root=$(fs_root "$fs")
		rates=$PACED_RATES
		[ "$fs" = ext4 ] && rates=$PACED_RATES_EXT4
		for rate in $rates; do
			for r in $(seq 1 "$RUNS"); do
				log "paced $fs $rate files/s run $r/$RUNS"
				local a b f keep_w=$CHURN_WATCH_MS
				CHURN_RATE=$rate
				CHURN_WATCH_MS=0
				# long enough for the limit to be broken 3,000 times
				local keep_s=$CHURN_S
				CHURN_S=$(awk -v s="$CHURN_S" -v r="$rate" -v m=$CHURN_MAX \
					'BEGIN { t = (m + 3000) / r; print (t > s ? t : s) }')
				churn_pair "$root" "$r"
				CHURN_RATE=0
				CHURN_WATCH_MS=$keep_w
				CHURN_S=$keep_s
				churn_record paced "$fs/$rate" hk_ "$a"
				put paced "$fs/$rate" "max_entries/max_files" "$(ns_div "$(kv "$a" max_events)" $CHURN_MAX)"
				put paced "$fs/$rate" "ideal_lat_p99_ms" "$(awk -v v="$(kv "$b" lat_p99_us)" 'BEGIN{printf "%.3f", v/1000}')"
			done
		done
	done
}

# ----------------------------------------------------------- persistence --
scen_persistence() {
	local troot
	troot=$(fs_root tmpfs) || { note "persistence: skipped (needs tmpfs, i.e. root)"; return; }
	local droot
	droot=$(fs_root ext4)
	for r in $(seq 1 "$RUNS"); do
		log "persistence run $r/$RUNS"
		local a b c
		if [ $((r % 2)) = 1 ]; then
			a=$(churn_daemon_run "$troot" "$droot/state-pers" ext4state)
			c=$(churn_daemon_run "$troot" "$droot/state-pers-off" noindex --no-index-store)
			b=$(churn_daemon_run "$troot" "$troot/state-pers" tmpfsstate)
		else
			b=$(churn_daemon_run "$troot" "$troot/state-pers" tmpfsstate)
			c=$(churn_daemon_run "$troot" "$droot/state-pers-off" noindex --no-index-store)
			a=$(churn_daemon_run "$troot" "$droot/state-pers" ext4state)
		fi
		# the target as written: the LMDB index on against off, one run
		churn_record persistence tmpfs-tree "index_off_" "$c"
		put persistence tmpfs-tree "writer_rate(index on/index off)" "$(ns_div "$(kv "$a" rate)" "$(kv "$c" rate)")"
		churn_record persistence tmpfs-tree "lmdb_ext4_" "$a"
		churn_record persistence tmpfs-tree "lmdb_tmpfs_" "$b"
		put persistence tmpfs-tree "writer_rate(ext4 state/tmpfs state)" "$(ns_div "$(kv "$a" rate)" "$(kv "$b" rate)")"
		local da db
		da=$(awk -v c="$(kv "$a" created)" -v e="$(kv "$a" elapsed_ns)" -v d="$(kv "$a" drain_ns)" 'BEGIN{print (c-1000)/((e+d)/1e9)}')
		db=$(awk -v c="$(kv "$b" created)" -v e="$(kv "$b" elapsed_ns)" -v d="$(kv "$b" drain_ns)" 'BEGIN{print (c-1000)/((e+d)/1e9)}')
		put persistence tmpfs-tree "deletes_per_s(ext4 state/tmpfs state)" "$(ns_div "$da" "$db")"
	done
}

# ---------------------------------------------------------------- sweep --
sweep_one() {   # sweep_one TOOL ROOT N -> "wall_ns user_ns sys_ns rc left"
	local tool=$1 root=$2 n=$3
	local d=$root/sweep
	rm -rf "$d" "$root/state-sweep"
	"$HKB" mktree "$d" "$n" 64
	sync -f "$d" 2>/dev/null || sync
	local t0
	t0=$(date +%s.%N)
	sleep 2.2   # every file older than the 1 s limit of every tool (tmpreaper rounds)
	local t
	case $tool in
	hk)
		mkdir -p "$root/state-sweep"
		cat >"$WORK/sweep.conf" <<EOF
[cleanup "sweep"]
directory = $d
retention = 1s
EOF
		t=$(time_cmd "$HKD" --once -c "$WORK/sweep.conf" -S "$root/state-sweep") ;;
	# the baseline of issue 16: find selecting by name and age, which
	# stats every file as any age-based cleaner must (a bare -delete
	# stats nothing; "unlink" is that floor)
	find) t=$(time_cmd find "$d" -type f -name 'f*' -mmin +0 -delete) ;;
	tmpfiles)
		echo "e $d - - - 1s" >"$WORK/sweep-tmpfiles.conf"
		t=$(time_cmd systemd-tmpfiles --clean "$WORK/sweep-tmpfiles.conf") ;;
	tmpreaper) t=$(time_cmd tmpreaper --mtime 1s "$d") ;;
	unlink) t=$(time_cmd "$HKB" unlink "$d" "$n") ;;
	# the floor of the SPEC 7 protocol (hkb sweepfloor: a statx, a rename
	# aside, a statx, an unlink per file, nothing else), on one thread and
	# on two (this machine's cores)
	floor) t=$(time_cmd "$HKB" sweepfloor "$d" 1 1) ;;
	floor2) t=$(time_cmd "$HKB" sweepfloor "$d" 1 2) ;;
	esac
	local left
	left=$("$HKB" count "$d")
	rm -rf "$d" "$root/state-sweep"
	echo "$t $left"
}
scen_sweep() {
	local tools="hk find unlink floor floor2"
	command -v systemd-tmpfiles >/dev/null && tools="$tools tmpfiles" || note "sweep: systemd-tmpfiles missing, skipped"
	command -v tmpreaper >/dev/null && tools="$tools tmpreaper" || note "sweep: tmpreaper missing, skipped (BENCH_INSTALL=1)"
	for fs in $(fs_list); do
		local root
		root=$(fs_root "$fs")
		local sizes=$SWEEP_N
		[ "$fs" = ext4 ] && sizes=$SWEEP_N_EXT4
		[ "$BIG" = 1 ] && sizes="$sizes 1000000"
		for n in $sizes; do
			local runs=$RUNS
			[ "$n" -ge 1000000 ] && runs=$(( RUNS < 3 ? RUNS : 3 ))
			for r in $(seq 1 "$runs"); do
				log "sweep $fs $n files run $r/$runs"
				local order
				order=$(rotate "$r" $tools)
				declare -A W=()
				for tool in $order; do
					local out
					out=$(sweep_one "$tool" "$root" "$n")
					set -- $out
					W[$tool]=$1
					put sweep "$fs/$n" "${tool}_ms" "$(ms "$1")"
					put sweep "$fs/$n" "${tool}_cpu_ms" "$(ms $(( $2 + $3 )))"
					[ "${5:-0}" = 0 ] || note "sweep $fs/$n: $tool left ${5} files (rc ${4})"
				done
				for tool in $order; do
					[ "$tool" = hk ] && continue
					put sweep "$fs/$n" "hk/$tool" "$(ns_div "${W[hk]}" "${W[$tool]}")"
				done
				unset W
			done
		done
	done
}

# ---------------------------------------------------------------- owner --
# What acting with a user's identity costs: the same expired tree
# registered through the socket by root and by an unprivileged user (whose
# scans and deletions run with its fsuid, fsgid and groups), timed from the
# register call until the directory is empty; ratio user/root.
OWNER_USER=hk-bench
owner_one() {   # owner_one root|user ROOT N SOCK -> wall_ns
	local who=$1 root=$2 n=$3 sock=$4
	local d=$root/owner-$who
	rm -rf "$d"
	"$HKB" mktree "$d" "$n" 64
	[ "$who" = user ] && chown -R "$OWNER_USER:" "$d"
	sleep 2.2   # every file older than the 1 s limit
	local as=()
	[ "$who" = user ] && as=(setpriv --reuid="$OWNER_USER" --regid="$OWNER_USER" --init-groups)
	local t0 t1 id
	t0=$(now)
	id=$("${as[@]}" "$HKCTL" -s "$sock" register "$d" --retention 1s) || { echo 0; return; }
	while [ "$("$HKB" count "$d")" != 0 ]; do sleep 0.005; done
	t1=$(now)
	"${as[@]}" "$HKCTL" -s "$sock" remove "$id" >/dev/null
	rm -rf "$d"
	echo $(( t1 - t0 ))
}
scen_owner() {
	[ "$(id -u)" = 0 ] || { note "owner: skipped (needs root)"; return 0; }
	id "$OWNER_USER" >/dev/null 2>&1 || useradd -r -M -s /usr/sbin/nologin "$OWNER_USER" ||
		{ note "owner: cannot create user $OWNER_USER"; return 0; }
	for fs in $(fs_list); do
		local root n=$SWEEP_N
		root=$(fs_root "$fs")
		[ "$fs" = ext4 ] && n=$SWEEP_N_EXT4
		chmod 711 "$WORK"
		chmod 755 "$root"
		local sock=$root/owner.sock st=$root/state-owner
		rm -rf "$st"; mkdir -p "$st"
		printf '[daemon]\ncontrol_socket = %s\n' "$sock" >"$WORK/owner.conf"
		start_hkd "$WORK/owner.conf" "$st" "$WORK/owner.log"
		local i=0
		while [ ! -S "$sock" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
		chmod 666 "$sock"
		for r in $(seq 1 "$RUNS"); do
			log "owner $fs $n files run $r/$RUNS"
			local order="root user"
			[ $((r % 2)) = 0 ] && order="user root"
			declare -A W=()
			for who in $order; do W[$who]=$(owner_one "$who" "$root" "$n" "$sock"); done
			put owner "$fs/$n" root_ms "$(ms "${W[root]}")"
			put owner "$fs/$n" user_ms "$(ms "${W[user]}")"
			put owner "$fs/$n" "user/root" "$(ns_div "${W[user]}" "${W[root]}")"
			unset W
		done
		stop_hkd
		rm -rf "$st"
	done
}

# ---------------------------------------------------------------- index --
index_conf() {   # index_conf DIR FILE
	cat >"$2" <<EOF
[cleanup "index"]
directory = $1
retention = 3650d
EOF
}
scen_index() {
	local sizes=$INDEX_N
	[ "$BIG" = 1 ] && sizes="$sizes 1000000"
	for fs in $(fs_list); do
		local root
		root=$(fs_root "$fs")
		# the empty-daemon baseline of anonymous memory
		mkdir -p "$root/index-empty"
		index_conf "$root/index-empty" "$WORK/index-empty.conf"
		rm -rf "$root/state-index-empty"
		start_hkd "$WORK/index-empty.conf" "$root/state-index-empty" "$WORK/index-empty.log" -v
		"$HKB" waitlog "$WORK/index-empty.log" ": 0 files," 20 >/dev/null
		sleep 0.3
		local rss0
		rss0=$(rss_anon "$HKD_PID")
		stop_hkd
		for n in $sizes; do
			local d=$root/index
			rm -rf "$d"
			log "index $fs: building $n files"
			"$HKB" mktree "$d" "$n" 64
			sync -f "$d" 2>/dev/null || sync
			index_conf "$d" "$WORK/index.conf"
			local runs=$RUNS
			[ "$n" -ge 1000000 ] && runs=$(( RUNS < 3 ? RUNS : 3 ))
			for r in $(seq 1 "$runs"); do
				log "index $fs $n files run $r/$runs"
				local st=$root/state-index lg=$WORK/index-$r.log
				local order="hk find walk"
				[ $((r % 3)) = 2 ] && order="find walk hk"
				[ $((r % 3)) = 0 ] && order="walk hk find"
				local cold=0 warm_status=0 warm_scan=0 find_ns=0 walk_ns=0 rss=0
				for what in $order; do
					case $what in
					find)
						find_ns=$(time_cmd find "$d" -printf '%s %T@\n' | cut -d' ' -f1) ;;
					walk)
						walk_ns=$(time_cmd "$HKB" walk "$d" | cut -d' ' -f1) ;;
					hk)
						rm -rf "$st"
						start_hkd "$WORK/index.conf" "$st" "$lg.cold" -v
						local t_end t_start
						t_end=$("$HKB" waitlog "$lg.cold" ": $n files," 300) || note "index: cold scan line missing"
						t_start=$(head -1 "$lg.cold" | cut -d' ' -f1)
						cold=$((t_end - t_start))
						# memory once the index is stored and committed (a cold
						# index is written to the store after its first scan)
						"$HKB" waitlog "$lg.cold" "index stored" 300 >/dev/null ||
							note "index: 'index stored' line missing"
						sleep 1
						rss=$(rss_anon "$HKD_PID")
						stop_hkd
						# warm: the same state dir
						start_hkd "$WORK/index.conf" "$st" "$lg.warm" -v
						t_start=$(head -1 "$lg.warm" | cut -d' ' -f1)
						local sock=$st/housekeeper.sock t_st=0
						for _ in $(seq 1 30000); do
							if [ "$(hk_files "$sock")" = "$n" ]; then t_st=$(now); break; fi
							sleep 0.005
						done
						warm_status=$((t_st - t_start))
						t_end=$("$HKB" waitlog "$lg.warm" ": $n files," 300) || note "index: warm scan line missing"
						warm_scan=$((t_end - t_start))
						stop_hkd
						rm -rf "$st"
						;;
					esac
				done
				put index "$fs/$n" cold_ms "$(ms $cold)"
				put index "$fs/$n" find_ms "$(ms "$find_ns")"
				put index "$fs/$n" walk_ms "$(ms "$walk_ns")"
				put index "$fs/$n" warm_status_ms "$(ms $warm_status)"
				put index "$fs/$n" warm_reconciled_ms "$(ms $warm_scan)"
				put index "$fs/$n" "cold/find" "$(ns_div $cold "$find_ns")"
				put index "$fs/$n" "cold/walk" "$(ns_div $cold "$walk_ns")"
				put index "$fs/$n" "warm_status/warm_reconciled" "$(ns_div $warm_status $warm_scan)"
				put index "$fs/$n" "anon_bytes_per_file" "$(awk -v a="$rss" -v b="$rss0" -v n="$n" 'BEGIN{printf "%.1f", (a-b)*1024/n}')"
			done
			# watchman on the same tree: one server, empty dir first, then the tree
			if command -v watchman >/dev/null; then
				local W=$WORK/wm-$fs
				mkdir -p "$W"
				WM_SOCK=$W/sock
				local wmo=(--sockname="$WM_SOCK" --statefile="$W/state" --logfile="$W/log" --pidfile="$W/pid" --no-save-state)
				watchman "${wmo[@]}" watch "$root/index-empty" >/dev/null 2>&1
				watchman "${wmo[@]}" --no-spawn query "$root/index-empty" '{"expression":["name","nomatch"],"fields":["name"]}' >/dev/null 2>&1
				local wpid w0 w1
				wpid=$(cat "$W/pid" 2>/dev/null)
				if [ -n "$wpid" ] && [ -d "/proc/$wpid" ]; then
					w0=$(rss_anon "$wpid")
					watchman "${wmo[@]}" --no-spawn watch "$d" >/dev/null 2>&1
					watchman "${wmo[@]}" --no-spawn query "$d" '{"expression":["name","nomatch"],"fields":["name"]}' >/dev/null 2>&1
					sleep 0.5
					w1=$(rss_anon "$wpid")
					put index "$fs/$n" "watchman_anon_bytes_per_file" "$(awk -v a="$w1" -v b="$w0" -v n="$n" 'BEGIN{printf "%.1f", (a-b)*1024/n}')"
				else
					note "index: watchman server did not start (see $W/log)"
				fi
				watchman --sockname="$WM_SOCK" shutdown-server >/dev/null 2>&1
				WM_SOCK=
			else
				note "index: watchman missing, memory comparison skipped (BENCH_INSTALL=1)"
			fi
			rm -rf "$d"
		done
		rm -rf "$root/index-empty"
	done
}

# ----------------------------------------------------------------- idle --
idle_measure() {   # idle_measure CONF TAG
	local conf=$1 tag=$2
	local st=$WORK/state-idle-$tag
	rm -rf "$st"
	start_hkd "$conf" "$st" "$WORK/idle-$tag.log"
	"$HKB" waitlog "$WORK/idle-$tag.log" "started" 20 >/dev/null
	for _ in $(seq 1 600); do hk_all_watching "$st/housekeeper.sock" && break; sleep 0.1; done
	sleep 2
	local p=$HKD_PID
	local v0 c0 v1 c1
	v0=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$p/status")
	c0=$(awk '{ print $14 + $15 }' "/proc/$p/stat")
	sleep "$IDLE_S"
	v1=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$p/status")
	c1=$(awk '{ print $14 + $15 }' "/proc/$p/stat")
	local hz
	hz=$(getconf CLK_TCK)
	put idle "$tag" "wakeups_per_min" "$(awk -v a=$v0 -v b=$v1 -v s=$IDLE_S 'BEGIN{printf "%.1f", (b-a)*60/s}')"
	put idle "$tag" "cpu_ms_per_min" "$(awk -v a=$c0 -v b=$c1 -v s=$IDLE_S -v hz=$hz 'BEGIN{printf "%.1f", (b-a)*1000/hz*60/s}')"
	stop_hkd
	rm -rf "$st"
}
scen_idle() {
	local root
	root=$(fs_root ext4)
	local d=$root/idle
	rm -rf "$d"
	mkdir -p "$d/rec" "$d/sec"
	for i in $(seq -w 0 999); do
		mkdir -p "$d/rec/s$i" "$d/sec/s$i"
		echo x >"$d/rec/s$i/f"
		echo x >"$d/sec/s$i/f"
	done
	cat >"$WORK/idle-rec.conf" <<EOF
[cleanup "idle"]
directory = $d/rec
recursive = yes
retention = 30d
EOF
	: >"$WORK/idle-sec.conf"
	for i in $(seq -w 0 999); do
		printf '[cleanup "s%s"]\ndirectory = %s\nretention = 30d\n\n' "$i" "$d/sec/s$i" >>"$WORK/idle-sec.conf"
	done
	local runs=${BENCH_IDLE_RUNS:-1}
	for r in $(seq 1 "$runs"); do
		log "idle run $r/$runs (${IDLE_S}s each)"
		idle_measure "$WORK/idle-rec.conf" "recursive-1000-subdirs"
		idle_measure "$WORK/idle-sec.conf" "1000-sections"
	done
	rm -rf "$d"
}

# -------------------------------------------------------------- profile --
scen_profile() {
	local root
	root=$(fs_root tmpfs) || root=$(fs_root ext4)
	local d=$root/prof n=10000
	rm -rf "$d" "$root/state-prof"
	"$HKB" mktree "$d" $n 64
	sleep 2.2
	mkdir -p "$root/state-prof"
	printf '[cleanup "p"]\ndirectory = %s\nretention = 1s\n' "$d" >"$WORK/prof.conf"
	strace -c -f -o "$WORK/strace-once.txt" "$HKD" --once -c "$WORK/prof.conf" -S "$root/state-prof" >/dev/null 2>&1
	echo "--- strace -c -f housekeeperd --once, $n expired files" >>"$NOTES"
	awk -v n=$n 'NR > 2 && $NF != "total" && $4 ~ /^[0-9]+$/ && $4 >= n / 10 { printf "  %-12s %8d calls  %.2f per file\n", $NF, $4, $4 / n }' "$WORK/strace-once.txt" >>"$NOTES"
	"$HKB" mktree "$d" $n 64
	sleep 2.2
	strace -c -f -o "$WORK/strace-find.txt" find "$d" -type f -name 'f*' -mmin +0 -delete
	echo "--- strace -c -f find -type f -name 'f*' -mmin +0 -delete, $n files" >>"$NOTES"
	awk -v n=$n 'NR > 2 && $NF != "total" && $4 ~ /^[0-9]+$/ && $4 >= n / 10 { printf "  %-12s %8d calls  %.2f per file\n", $NF, $4, $4 / n }' "$WORK/strace-find.txt" >>"$NOTES"
	rm -rf "$d" "$root/state-prof"
	cat "$NOTES" >&2
}

# ------------------------------------------------------- control-latency --
# The latency of `status` on the control socket (hkb ctlprobe: one
# connection per request as housekeeperctl makes, and one persistent
# connection, a request every BENCH_CL_INTERVAL s each, latency from the
# request's scheduled time) while the daemon is idle and while
# (a) `housekeeperctl run --dry-run` goes over CL_DRY_N expired files,
# (b) CL_DEL_N files all expire at a reload and are deleted,
# (c) CL_READERS loops of `housekeeperctl audit` read CL_AUDIT_N records,
# (d) the flat-out churn writer runs against max_files = 1000.
# All on tmpfs (root), state dirs included; ratios against the idle p99 of
# the same run. Target: p99 <= 50 ms.
CL_DRY_N=${BENCH_CL_DRY_FILES:-1000000}
CL_DEL_N=${BENCH_CL_DEL_FILES:-300000}
CL_AUDIT_N=${BENCH_CL_AUDIT_RECORDS:-100000}
CL_READERS=${BENCH_CL_READERS:-20}
CL_LOAD_S=${BENCH_CL_SECONDS:-20}        # the readers' and the writer's window
CL_IDLE_S=${BENCH_CL_IDLE_SECONDS:-10}
CL_INTERVAL=${BENCH_CL_INTERVAL:-0.02}
CL_CASES=${BENCH_CL_CASES:-dry delete audit churn}   # idle always runs first
if [ "$QUICK" = 1 ]; then
	CL_DRY_N=${BENCH_CL_DRY_FILES:-$((CL_DRY_N / 10))}
	CL_DEL_N=${BENCH_CL_DEL_FILES:-$((CL_DEL_N / 10))}
	CL_AUDIT_N=${BENCH_CL_AUDIT_RECORDS:-$((CL_AUDIT_N / 10))}
	CL_LOAD_S=${BENCH_CL_SECONDS:-5}
	CL_IDLE_S=${BENCH_CL_IDLE_SECONDS:-3}
fi
CL_PROBE_PID=
cl_wait_quiet() {   # cl_wait_quiet PID MAXSECS: until PID used < 20 ms CPU in 0.5 s
	local p=$1 i c0 c1
	c0=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || return 1
	for ((i = 0; i < $2 * 2; i++)); do
		sleep 0.5
		c1=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || return 1
		[ $((c1 - c0)) -lt 2 ] && return 0
		c0=$c1
	done
	note "control-latency: daemon $p still busy after $2 s"
	return 1
}
cl_wait_files() {   # cl_wait_files SOCK N MAXSECS: status shows N files, watching
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(hk_files "$1")" = "$2" ] && hk_all_watching "$1" && return 0
		sleep 0.1
	done
	note "control-latency: $1 never showed $2 files"
	return 1
}
# The floor: hkb floorserv answers every request at once with a reply of
# a status reply's size; probed beside the daemon under the same load, its
# latency is what the machine's scheduling alone costs (on 2 shared cores,
# 20 readers or a flat-out writer keep every process waiting for a core).
CL_FLOOR_PID=
cl_floor_start() {
	CL_FLOOR_SOCK=$CL_ROOT/floor.sock
	"$HKB" floorserv "$CL_FLOOR_SOCK" 2000 &
	CL_FLOOR_PID=$!
	PIDS+=("$CL_FLOOR_PID")
	local i
	for ((i = 0; i < 500; i++)); do [ -S "$CL_FLOOR_SOCK" ] && break; sleep 0.01; done
}
cl_floor_stop() {
	[ -n "$CL_FLOOR_PID" ] && kill -TERM "$CL_FLOOR_PID" 2>/dev/null && wait "$CL_FLOOR_PID" 2>/dev/null
	CL_FLOOR_PID=
}
# The daemon's stalls: housekeeper_loop_iteration_seconds (wall time: what a
# client waits) and _cpu_seconds (the loop thread's CPU time: its own work;
# the difference is time it waited for a core), read at the probe's start
# and stop; the window's iterations per bucket are the difference
# (cl_loop_snap SOCK: "KIND le count" lines, KIND wall or cpu).
cl_loop_snap() {
	"$HKCTL" -s "$1" metrics 2>/dev/null |
		sed -n -e 's/^housekeeper_loop_iteration_seconds_bucket{le="\([^"]*\)"} \([0-9]*\)$/wall \1 \2/p' \
			-e 's/^housekeeper_loop_iteration_cpu_seconds_bucket{le="\([^"]*\)"} \([0-9]*\)$/cpu \1 \2/p'
}
cl_probe_start() {   # cl_probe_start SOCK OUT: the probes (daemon, floor) in the background
	CL_LOOP0=$(cl_loop_snap "$1")
	"$HKB" ctlprobe "$1" 3600 "$CL_INTERVAL" >"$2" &
	CL_PROBE_PID=$!
	"$HKB" ctlprobe "$CL_FLOOR_SOCK" 3600 "$CL_INTERVAL" >"$2.floor" &
	CL_FLOOR_PROBE_PID=$!
	PIDS+=("$CL_PROBE_PID" "$CL_FLOOR_PROBE_PID")
	CL_PROBE_SOCK=$1
	sleep 0.5   # some samples before the load starts
}
cl_probe_stop() {   # the probes end their schedule, wait for their last answers
	kill -TERM "$CL_PROBE_PID" "$CL_FLOOR_PROBE_PID" 2>/dev/null
	wait "$CL_PROBE_PID" "$CL_FLOOR_PROBE_PID" 2>/dev/null
	CL_PROBE_PID=
	CL_LOOP1=$(cl_loop_snap "$CL_PROBE_SOCK")
}
# cl_loop_record CASE: iterations of the probe's window longer than 10 and
# 50 ms (wall and CPU), and the bound of the longest one's bucket
cl_loop_record() {
	[ -n "$CL_LOOP0" ] && [ -n "$CL_LOOP1" ] || { note "control-latency/$1: no loop metrics"; return; }
	local kind r top
	for kind in wall cpu; do
		r=$(paste -d' ' <(echo "$CL_LOOP0" | grep "^$kind ") <(echo "$CL_LOOP1" | grep "^$kind ") | awk '
			{ le[NR] = $2; d[NR] = $6 - $3 }
			END { tot = d[NR]; over10 = tot; over50 = tot; top = ""
			      for (i = 1; i <= NR; i++) {
				if (le[i] == "0.01") over10 = tot - d[i]
				if (le[i] == "0.05") over50 = tot - d[i]
				if (top == "" && d[i] == tot) top = le[i] }
			      printf "%d %d %s\n", over10, over50, top }')
		put control-latency "tmpfs/$1" "loop_${kind}_over_10ms" "$(echo "$r" | cut -d' ' -f1)"
		put control-latency "tmpfs/$1" "loop_${kind}_over_50ms" "$(echo "$r" | cut -d' ' -f2)"
		top=$(echo "$r" | cut -d' ' -f3)
		[ "$top" = "+Inf" ] && top=1000
		put control-latency "tmpfs/$1" "loop_${kind}_longest_le_ms" "$(awk -v t="$top" 'BEGIN { printf "%g", t * 1000 }')"
	done
}
# cl_record CASE OUT [LOAD_NS]: the probe's lines as rows; idle's p99 kept
cl_record() {
	local c=$1 out=$2 m l
	for m in conn persist; do
		l=$(grep "^mode=$m " "$out")
		[ -n "$l" ] || { note "control-latency/$c: no $m line from the probe"; continue; }
		put control-latency "tmpfs/$c" "${m}_p50_ms" "$(kv "$l" p50_ms)"
		put control-latency "tmpfs/$c" "${m}_p99_ms" "$(kv "$l" p99_ms)"
		put control-latency "tmpfs/$c" "${m}_max_ms" "$(kv "$l" max_ms)"
		put control-latency "tmpfs/$c" "${m}_raw_p99_ms" "$(kv "$l" raw_p99_ms)"
		put control-latency "tmpfs/$c" "${m}_n" "$(kv "$l" n)"
		[ "$(kv "$l" err)" = 0 ] || put control-latency "tmpfs/$c" "${m}_errors" "$(kv "$l" err)"
		if [ "$c" = idle ]; then
			eval "CL_IDLE_$m=\$(kv \"\$l\" p99_ms)"
		else
			local i
			eval "i=\${CL_IDLE_$m:-}"
			[ -n "$i" ] && put control-latency "tmpfs/$c" "${m}_p99/idle_p99" "$(ns_div "$(kv "$l" p99_ms)" "$i")"
		fi
	done
	l=$(grep "^mode=conn " "$out.floor" 2>/dev/null)
	if [ -n "$l" ]; then
		put control-latency "tmpfs/$c" "floor_conn_p50_ms" "$(kv "$l" p50_ms)"
		put control-latency "tmpfs/$c" "floor_conn_p99_ms" "$(kv "$l" p99_ms)"
		local dp
		dp=$(kv "$(grep "^mode=conn " "$out")" p99_ms)
		[ -n "$dp" ] && put control-latency "tmpfs/$c" "conn_p99/floor_p99" "$(ns_div "$dp" "$(kv "$l" p99_ms)")"
	fi
	cl_loop_record "$c"
	[ -n "${3:-}" ] && put control-latency "tmpfs/$c" "load_s" "$(awk -v a="$3" 'BEGIN { printf "%.2f", a / 1e9 }')"
}
cl_daemon() {   # cl_daemon TAG CONF-BODY: a fresh state dir, the daemon started
	local tag=$1 st
	st=$CL_ROOT/state-$1
	rm -rf "$st"
	mkdir -p "$st"
	printf '%s\n' "$2" >"$WORK/cl-$tag.conf"
	start_hkd "$WORK/cl-$tag.conf" "$st" "$WORK/cl-$tag.log"
	CL_SOCK=$st/housekeeper.sock
	local i
	for ((i = 0; i < 1000; i++)); do [ -S "$CL_SOCK" ] && break; sleep 0.01; done
}
cl_idle() {
	local d=$CL_ROOT/cl-idle
	rm -rf "$d"
	"$HKB" mktree "$d" 1000 0
	cl_daemon idle "$(printf '[cleanup "idle"]\ndirectory = %s\nretention = 3650d' "$d")"
	cl_wait_files "$CL_SOCK" 1000 60
	cl_wait_quiet "$HKD_PID" 60
	cl_probe_start "$CL_SOCK" "$WORK/cl-probe.txt"
	sleep "$CL_IDLE_S"
	cl_probe_stop
	cl_record idle "$WORK/cl-probe.txt"
	stop_hkd
	rm -rf "$d" "$CL_ROOT/state-idle"
}
cl_dry() {   # a manual dry run over CL_DRY_N expired files (read-only daemon)
	local d=$CL_ROOT/cl-dry rep=$CL_ROOT/cl-dry-reports
	rm -rf "$rep"
	mkdir -p "$rep"
	cl_daemon dry "$(printf '[scheduler]\nhousekeeper_read_only = yes\nhousekeeper_report_directory = %s\n[cleanup "dry"]\ndirectory = %s\nretention = 1s' "$rep" "$d")"
	cl_wait_files "$CL_SOCK" "$CL_DRY_N" 600
	cl_wait_quiet "$HKD_PID" 300
	cl_probe_start "$CL_SOCK" "$WORK/cl-probe.txt"
	local t0 t1 rc i
	t0=$(now)
	"$HKCTL" -s "$CL_SOCK" run --dry-run dry >/dev/null 2>"$WORK/cl-dry.err"
	rc=$?
	# the run's end: its report file (the CLI may have given up before; today
	# it does at 30 s with exit 3 while the daemon goes on)
	for ((i = 0; i < 6000; i++)); do
		[ -n "$(ls -A "$rep")" ] && break
		[ $rc = 0 ] && [ $i -ge 50 ] && break
		sleep 0.1
	done
	t1=$(now)
	[ $rc = 0 ] || note "control-latency/dry: housekeeperctl run --dry-run exit $rc: $(tail -1 "$WORK/cl-dry.err")"
	[ -n "$(ls -A "$rep")" ] || note "control-latency/dry: no report file"
	cl_probe_stop
	cl_record "dry-$CL_DRY_N" "$WORK/cl-probe.txt" $((t1 - t0))
	stop_hkd
	rm -rf "$rep" "$CL_ROOT/state-dry"
}
cl_delete() {   # CL_DEL_N indexed files all expire at a reload
	local d=$CL_ROOT/cl-del
	rm -rf "$d"
	"$HKB" mktree "$d" "$CL_DEL_N" 0
	sleep 1.2   # older than 1 s
	cl_daemon del "$(printf '[cleanup "del"]\ndirectory = %s\nretention = 3650d' "$d")"
	cl_wait_files "$CL_SOCK" "$CL_DEL_N" 600
	cl_wait_quiet "$HKD_PID" 300
	printf '[cleanup "del"]\ndirectory = %s\nretention = 1s\n' "$d" >"$WORK/cl-del.conf"
	cl_probe_start "$CL_SOCK" "$WORK/cl-probe.txt"
	local t0 t1 i
	t0=$(now)
	kill -HUP "$HKD_PID"
	# the end: the daemon's count first, the directory's confirms. Not a
	# getdents poll: one pass over 300k tmpfs entries takes ~90 ms and holds
	# the directory's lock, which every unlink waits for (polled every
	# 0.1 s, it made the loop's waits it was meant to measure)
	for ((i = 0; i < 3000; i++)); do
		[ "$(hk_files "$CL_SOCK")" = 0 ] && [ "$("$HKB" count "$d")" = 0 ] && break
		sleep 0.2
	done
	t1=$(now)
	[ "$("$HKB" count "$d")" = 0 ] || note "control-latency/delete: $("$HKB" count "$d") files left after 600 s"
	cl_probe_stop
	cl_record "delete-$CL_DEL_N" "$WORK/cl-probe.txt" $((t1 - t0))
	stop_hkd
	rm -rf "$d" "$CL_ROOT/state-del"
}
cl_audit_store() {   # once: a state dir whose audit trail holds CL_AUDIT_N records
	local d=$CL_ROOT/cl-audit st=$CL_ROOT/state-audit-kept
	rm -rf "$d" "$st"
	mkdir -p "$st"
	"$HKB" mktree "$d" "$CL_AUDIT_N" 0
	sleep 1.2
	printf '[cleanup "audit"]\ndirectory = %s\nretention = 1s\n' "$d" >"$WORK/cl-audit.conf"
	start_hkd "$WORK/cl-audit.conf" "$st" "$WORK/cl-audit-setup.log"
	local i
	for ((i = 0; i < 6000; i++)); do
		[ "$("$HKB" count "$d")" = 0 ] && break
		sleep 0.1
	done
	cl_wait_quiet "$HKD_PID" 300
	stop_hkd
}
cl_reader() {   # cl_reader SOCK STOPFILE LOG: audit in a loop, one line per call
	while [ ! -e "$2" ]; do
		"$HKCTL" -s "$1" audit >/dev/null 2>&1
		echo $? >>"$3"
	done
}
cl_audit() {
	local st=$CL_ROOT/state-audit stop=$WORK/cl-readers.stop
	rm -rf "$st" "$stop" "$WORK"/cl-reader-*.log
	cp -a "$CL_ROOT/state-audit-kept" "$st"
	start_hkd "$WORK/cl-audit.conf" "$st" "$WORK/cl-audit.log"
	CL_SOCK=$st/housekeeper.sock
	local i rp=()
	for ((i = 0; i < 1000; i++)); do [ -S "$CL_SOCK" ] && break; sleep 0.01; done
	cl_wait_quiet "$HKD_PID" 120
	cl_probe_start "$CL_SOCK" "$WORK/cl-probe.txt"
	local t0 t1
	t0=$(now)
	for ((i = 0; i < CL_READERS; i++)); do
		cl_reader "$CL_SOCK" "$stop" "$WORK/cl-reader-$i.log" &
		rp+=($!)
		PIDS+=($!)
	done
	sleep "$CL_LOAD_S"
	t1=$(now)
	# the window ends for the probe and the readers at once: the probe then
	# waits for its last answer, which can be long (the replies the daemon
	# still builds for readers that gave up are queued before it)
	kill -TERM "$CL_PROBE_PID" 2>/dev/null
	touch "$stop"
	cl_probe_stop
	wait "${rp[@]}" 2>/dev/null
	cl_record "audit-${CL_READERS}x$CL_AUDIT_N" "$WORK/cl-probe.txt" $((t1 - t0))
	put control-latency "tmpfs/audit-${CL_READERS}x$CL_AUDIT_N" "audit_calls_ok" "$(cat "$WORK"/cl-reader-*.log 2>/dev/null | grep -c '^0$')"
	put control-latency "tmpfs/audit-${CL_READERS}x$CL_AUDIT_N" "audit_calls_failed" "$(cat "$WORK"/cl-reader-*.log 2>/dev/null | grep -vc '^0$')"
	stop_hkd
	rm -rf "$st" "$stop" "$WORK"/cl-reader-*.log
}
cl_churn() {   # the churn scenario's flat-out writer, max_files = CHURN_MAX
	local d=$CL_ROOT/cl-churn
	rm -rf "$d"
	mkdir -p "$d"
	cl_daemon churn "$(printf '[cleanup "churn"]\ndirectory = %s\nmax_files = %s' "$d" "$CHURN_MAX")"
	cl_wait_files "$CL_SOCK" 0 60
	cl_wait_quiet "$HKD_PID" 60
	cl_probe_start "$CL_SOCK" "$WORK/cl-probe.txt"
	local t0 t1 l
	t0=$(now)
	l=$("$HKB" churn "$d" 100000000 "$CHURN_MAX" none "$CL_LOAD_S" 0 "$CHURN_WATCH_MS")
	t1=$(now)
	cl_probe_stop
	cl_record "churn-$CHURN_MAX" "$WORK/cl-probe.txt" $((t1 - t0))
	put control-latency "tmpfs/churn-$CHURN_MAX" "writer_files_per_s" "$(kv "$l" rate)"
	stop_hkd
	rm -rf "$d" "$CL_ROOT/state-churn"
}
scen_control_latency() {
	CL_ROOT=$(fs_root tmpfs) || { note "control-latency: skipped (needs tmpfs, i.e. root)"; return 0; }
	log "control-latency: cases idle $CL_CASES (dry $CL_DRY_N files, delete $CL_DEL_N, audit ${CL_READERS}x$CL_AUDIT_N records, churn ${CL_LOAD_S}s); building the trees"
	local arr=($CL_CASES) c
	for c in "${arr[@]}"; do
		case $c in dry | delete | audit | churn) ;; *) echo "run.sh: control-latency: unknown case $c" >&2; exit 2 ;; esac
	done
	case " $CL_CASES " in *" dry "*)
		rm -rf "$CL_ROOT/cl-dry"
		"$HKB" mktree "$CL_ROOT/cl-dry" "$CL_DRY_N" 0 ;;
	esac
	case " $CL_CASES " in *" audit "*) cl_audit_store ;; esac
	sleep 1.2
	cl_floor_start
	for r in $(seq 1 "$RUNS"); do
		# idle first (the ratios' baseline), the loads in a rotating order
		local order
		order=$(rotate $((r - 1)) "${arr[@]}")
		for c in idle $order; do
			log "control-latency $c run $r/$RUNS (load $(cut -d' ' -f1 /proc/loadavg))"
			"cl_$c"
		done
		put control-latency tmpfs/load "loadavg_1min" "$(cut -d' ' -f1 /proc/loadavg)"
	done
	cl_floor_stop
	rm -rf "$CL_ROOT/cl-dry" "$CL_ROOT/cl-audit" "$CL_ROOT/state-audit-kept"
}

# -------------------------------------------------------------- summary --
summary() {
	echo "| scenario | fs | metric | median | min | max | n |"
	echo "|---|---|---|---|---|---|---|"
	awk -F'|' '{ k = $1 "|" $2 "|" $3; if (!(k in seen)) { seen[k] = 1; order[++no] = k } v[k] = v[k] " " $4 }
	END { for (i = 1; i <= no; i++) print order[i] "|" v[order[i]] }' "$RES" |
		while IFS='|' read -r s f m vals; do
			echo "$vals" | tr ' ' '\n' | grep -v '^$' | sort -g |
				awk -v s="$s" -v f="$f" -v m="$m" '{ a[NR] = $1 } END {
					if (NR == 0) exit
					med = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
					printf "| %s | %s | %s | %.3g | %.3g | %.3g | %d |\n", s, f, m, med, a[1], a[NR], NR }'
		done
}

SCEN=${*:-churn paced sweep owner index persistence idle}
case " $SCEN " in *" persistence "* | *" profile "* | *" control-latency "*) NEED_TMPFS=1 ;; esac
setup_fs
log "housekeeperd: $HKD; runs: $RUNS; scenarios: $SCEN; load: $(cut -d' ' -f1-3 /proc/loadavg)"
for s in $SCEN; do
	case $s in
	churn | paced | sweep | owner | index | persistence | idle | profile) "scen_$s" ;;
	control-latency) scen_control_latency ;;
	*) echo "run.sh: unknown scenario $s" >&2; exit 2 ;;
	esac
done
OUT=${BENCH_OUT:-bench-results.md}
{
	echo "# housekeeper bench, $(date -u +%FT%TZ), runs=$RUNS quick=$QUICK big=$BIG, load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	summary
	if [ -s "$NOTES" ]; then echo; echo '```'; cat "$NOTES"; echo '```'; fi
} | tee "$OUT"
