# seclib.sh - helpers of the attack suite (tests/security/s-*.sh).
#
# Each scenario sources ../integration/lib.sh (private $T, config, state
# dir, log, daemon killed from a trap) and then this file, which adds:
#  - root check (exit 77 otherwise);
#  - a cleanup hook run before $T is removed: every mount under $T is
#    unmounted (deepest first), immutable/append-only flags are cleared,
#    background helpers are killed;
#  - decoy trees outside the registered directories, and snapshots of any
#    tree (path, inode, size, mtime, mode, type, link count + sha256 of
#    every regular file) to prove "byte-for-byte and stat-for-stat
#    unchanged";
#  - a canary registration that proves the running daemon still serves
#    events (a hung or dead loop fails the probe);
#  - sec_once: one `housekeeperd --once` under a timeout that tells a hang
#    (124) and a crash (signal) from the normal exit codes 0 and 1.
need_root

SEC_DIR=$(cd "$(dirname "$0")" && pwd)
SEC_PIDS=
SEC_IMMUTABLE=
CANARY="$T/canary"
mkdir -p "$CANARY"

sec_umount_all() {
	local pass m
	for pass in 1 2 3 4 5; do
		m=$(awk -v t="$T/" 'index($2, t) == 1 { print $2 }' /proc/self/mounts | sort -r)
		[ -n "$m" ] || return 0
		echo "$m" | while read -r mp; do
			umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || true
		done
	done
}

sec_cleanup() {
	local p
	for p in $SEC_PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	sec_umount_all
	if [ -n "$SEC_IMMUTABLE" ]; then
		# shellcheck disable=SC2086
		chattr -i -a $SEC_IMMUTABLE 2>/dev/null
	fi
	true
}
HK_EXTRA_CLEANUP=sec_cleanup

# sec_bg CMD...: run a helper in the background, killed by the cleanup.
sec_bg() {
	"$@" &
	SEC_PIDS="$SEC_PIDS $!"
}

# sec_make_decoy DIR: a tree of files every test policy would select if it
# could reach them (old mtimes, matching names), subdirectories, odd modes.
sec_make_decoy() {
	local d=$1
	mkdir -p "$d/sub/deeper" "$d/empty"
	for n in a b c; do
		printf 'decoy %s\n' "$n" >"$d/$n.log"
		printf 'decoy data %s\n' "$n" >"$d/$n.dat"
		printf 'decoy sub %s\n' "$n" >"$d/sub/$n.log"
		printf 'decoy deeper %s\n' "$n" >"$d/sub/deeper/$n.log"
	done
	head -c 100000 /dev/urandom >"$d/big.bin"
	echo private >"$d/secret.txt"
	chmod 600 "$d/secret.txt"
	chmod 750 "$d/sub/deeper"
	find "$d" -mindepth 1 -exec touch -h -d '2001-01-01 00:00:00' {} +
	touch -d '2001-01-01 00:00:00' "$d/sub/deeper" "$d/sub" "$d/empty"
}

# sec_snap DIR OUT: stat data of every entry and checksums of every
# regular file. SEC_NO_NLINK=1 leaves the link count out (hardlink tests).
sec_snap() {
	local fmt='%p %i %s %T@ %m %y %n\n'
	[ -z "${SEC_NO_NLINK:-}" ] || fmt='%p %i %s %T@ %m %y\n'
	{
		find "$1" -printf "$fmt" | LC_ALL=C sort
		find "$1" -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
	} >"$2"
}

# sec_check DIR SNAP: DIR must still match the snapshot SNAP.
sec_check() {
	sec_snap "$1" "$2.now"
	cmp -s "$2" "$2.now" || fail "$1 changed: $(diff "$2" "$2.now" | head -20)"
}

# Config section of the canary: probe-* files in $CANARY go at once.
sec_canary_conf() {
	cat <<EOC

[cleanup "zz-canary"]
directory = $CANARY
pattern = probe-*
max_files = 0
priority = 10000
EOC
}

SEC_PROBE_N=0
# sec_probe: the running daemon is alive and its loop serves events; the
# events queued before the probe have been handled when it returns.
sec_probe() {
	sec_alive || fail "daemon is not running"
	SEC_PROBE_N=$((SEC_PROBE_N + 1))
	echo probe >"$CANARY/probe-$SEC_PROBE_N"
	wait_until test ! -e "$CANARY/probe-$SEC_PROBE_N" ||
		fail "daemon does not answer events any more (hung?)"
	sec_alive || fail "daemon died"
}

sec_alive() {
	[ -n "$HK_PID" ] && [ -r "/proc/$HK_PID/status" ] &&
		! grep -q '^State:[[:space:]]*Z' "/proc/$HK_PID/status"
}

# sec_swap_sweeps ROOT STAGE SWAPOUT ONCEOUT LABEL SUB...: race.py swap
# (ROOT's subdirectories SUB... swapped for symlinks to $DECOY, at least
# SEC_RACE_SECONDS seconds and 1,000 swaps; its list in SWAPOUT) while
# `housekeeperd --once` sweeps $T/hk.conf one after the other; fails on a
# hang or crash of a sweep, under 1,000 swaps or under 3 sweeps.
sec_swap_sweeps() {
	local root=$1 stage=$2 swapout=$3 out=$4 label=$5 sw rc runs=0 swaps
	shift 5
	python3 "$SEC_DIR/race.py" swap "$root" "$DECOY" "$stage" "${SEC_RACE_SECONDS:-4}" 1000 \
		"$@" >"$swapout" &
	sw=$!
	SEC_PIDS="$SEC_PIDS $sw"
	while kill -0 "$sw" 2>/dev/null; do
		rc=0
		timeout -k 2 $((HK_WAIT * 3)) "$HKD" --once -c "$T/hk.conf" -S "$T/state-once" \
			>"$out" 2>"$out.err" || rc=$?
		case $rc in 0 | 1) ;; *) fail "--once exited $rc during the race: $(tail -3 "$out.err")" ;; esac
		runs=$((runs + 1))
	done
	wait "$sw" || fail "swapper failed"
	swaps=$(awk '/^swaps/ {print $2}' "$swapout")
	echo "$label: $swaps swaps, $runs sweeps" >&2
	[ "$swaps" -ge 1000 ] || fail "only $swaps swaps"
	[ "$runs" -ge 3 ] || fail "only $runs sweeps ran during the race"
}

# sec_once OUT [ARGS...]: one sweep of $T/hk.conf; OUT gets the report,
# OUT.err the log. Fails on a hang or a crash; returns the exit code
# (0, or 1 when a deletion failed).
sec_once() {
	local out=$1 rc=0
	shift
	timeout -k 5 $((HK_WAIT * 3)) "$HKD" --once -c "$T/hk.conf" -S "$T/state-once" "$@" \
		>"$out" 2>"$out.err" || rc=$?
	case $rc in
	0 | 1) return $rc ;;
	124 | 137) fail "--once hung (killed after $((HK_WAIT * 3))s): $(tail -5 "$out.err")" ;;
	*) fail "--once exited $rc (crash?): $(tail -5 "$out.err")" ;;
	esac
}

# sec_regfiles DIR: sorted relative paths of the regular files below DIR
# (not crossing mounts), NUL-safe: names are printed with escapes.
sec_regfiles() {
	(cd "$1" && find . -xdev -type f -print0 | LC_ALL=C sort -z | tr '\0\n' '\n?')
}

# sec_fail_later MSG: record a failure, keep testing the rest of the
# scenario; sec_finish then exits 1 if anything was recorded.
SEC_FAILS=0
sec_fail_later() {
	echo "FAIL: $*" >&2
	SEC_FAILS=$((SEC_FAILS + 1))
}

sec_finish() {
	if [ "$SEC_FAILS" -gt 0 ]; then
		echo "--- daemon log (last 40 lines) ---" >&2
		[ ! -f "$HK_LOG" ] || tail -n 40 "$HK_LOG" >&2
		exit 1
	fi
	exit 0
}

# sec_nothing FIND-ARGS...: find prints nothing (use with wait_until, which
# re-runs it; a "$(find ...)" argument would be expanded only once).
sec_nothing() {
	[ -z "$(find "$@" -print -quit)" ]
}

# sec_user NAME: make sure the unprivileged system user NAME exists
# (useradd -r -M, idempotent; retried while another process holds the
# passwd lock). Skips the test when it cannot be created.
sec_user() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		id "$1" >/dev/null 2>&1 && return 0
		useradd -r -M -s /usr/sbin/nologin "$1" 2>/dev/null && return 0
		sleep 0.5
	done
	id "$1" >/dev/null 2>&1 || skip "cannot create user $1"
}

# sec_group NAME: the same for a system group; prints its gid.
sec_group() {
	local i
	for i in 1 2 3 4 5 6 7 8 9 10; do
		getent group "$1" >/dev/null 2>&1 && break
		groupadd -r -f "$1" 2>/dev/null && break
		sleep 0.5
	done
	getent group "$1" | cut -d: -f3 | grep . || skip "cannot create group $1"
}

# sec_as USER GID CMD...: run CMD as USER (its own primary group) with GID
# as its only supplementary group: a member of the control group and of
# nothing else.
sec_as() {
	local u=$1 g=$2
	shift 2
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --groups="$g" "$@"
}

# sec_users: the unprivileged users hk-sec-a and hk-sec-b (sec_user); sets
# SEC_UID_A, SEC_GID_A, SEC_UID_B, SEC_GID_B. Act as one with sec_run_as
# USER CMD...; hand one a file with chown hk-sec-a: FILE. $T becomes
# traversable (0755) for them.
sec_users() {
	sec_user hk-sec-a
	sec_user hk-sec-b
	SEC_UID_A=$(id -u hk-sec-a) SEC_GID_A=$(id -g hk-sec-a)
	SEC_UID_B=$(id -u hk-sec-b) SEC_GID_B=$(id -g hk-sec-b)
	chmod 0755 "$T"
}

# sec_run_as USER CMD...: run CMD with USER's uid, gid and groups.
sec_run_as() {
	local u=$1
	shift
	setpriv --reuid="$(id -u "$u")" --regid="$(id -g "$u")" --init-groups "$@"
}
