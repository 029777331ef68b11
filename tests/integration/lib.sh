# lib.sh - shared helpers of the integration tests. Each test sources it,
# gets a private temp root ($T) with its own config, state dir and log, and
# a trap that kills its daemon and removes $T. Exit 77 skips a test.
set -eu

top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$top_builddir}
HKD="$top_builddir/housekeeperd"
HKCTL="$top_builddir/housekeeperctl"
T=$(mktemp -d "${TMPDIR:-/tmp}/hk-test.XXXXXX")
HK_PID=
HK_LOG="$T/daemon.log"
# Sanitizer builds are slower: scale every wait.
HK_WAIT=${HK_WAIT:-20}

hk_cleanup() {
	set +e
	if [ -n "$HK_PID" ]; then
		kill -CONT "$HK_PID" 2>/dev/null || true
		kill -9 "$HK_PID" 2>/dev/null || true
		wait "$HK_PID" 2>/dev/null || true
	fi
	if [ -n "${HK_EXTRA_CLEANUP:-}" ]; then
		eval "$HK_EXTRA_CLEANUP"
	fi
	rm -rf "$T"
}
trap hk_cleanup EXIT

fail() {
	echo "FAIL: $*" >&2
	if [ -f "$HK_LOG" ]; then
		echo "--- daemon log (last 40 lines) ---" >&2
		tail -n 40 "$HK_LOG" >&2
	fi
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

need_root() {
	[ "$(id -u)" = 0 ] || skip "needs root"
}

# test_user NAME: as root, make sure the unprivileged system user NAME
# exists (useradd -r -M, retried while another process holds the passwd
# lock); false when it cannot be made.
test_user() {
	local i
	[ "$(id -u)" = 0 ] || return 1
	for i in 1 2 3 4 5 6 7 8 9 10; do
		id "$1" >/dev/null 2>&1 && return 0
		useradd -r -M -s /usr/sbin/nologin "$1" 2>/dev/null && return 0
		sleep 0.5
	done
	id "$1" >/dev/null 2>&1
}

# Write the test's config: [scheduler] settings plus what is on stdin.
write_config() {
	cat >"$T/hk.conf"
}

# dry_daemon: start the daemon on $T/hk.conf with housekeeper_dry_run =
# true (it deletes nothing) on a state directory of its own, $T/state-dry;
# wait for its control socket $S (which the config names).
dry_daemon() {
	{ printf '[scheduler]\nhousekeeper_dry_run = true\n\n'; cat "$T/hk.conf"; } >"$T/dry.conf"
	"$HKD" -f -v -c "$T/dry.conf" -S "$T/state-dry" >>"$HK_LOG" 2>&1 &
	HK_PID=$!
	wait_until test -S "$S" || fail "control socket not created (dry-run daemon)"
}

# free_tmpfs DIR: as root, a 4 MiB tmpfs mounted on DIR (skips the test
# where it cannot be), unmounted by the trap; free_kb: its free KiB.
# blobs DIR AGE: blob1..blob4 of 256 KiB in DIR, AGE-1..AGE-4 s old (blob1
# the oldest).
free_tmpfs() {
	need_root
	mkdir -p "$1"
	mount -t tmpfs -o size=4m,mode=0755 hk-free "$1" 2>/dev/null || skip "cannot mount a tmpfs here"
	HK_EXTRA_CLEANUP="umount '$1' 2>/dev/null || umount -l '$1'"
	FREE_FS=$1
}
free_kb() { df -k --output=avail "$FREE_FS" | tail -n 1 | tr -d ' '; }
blobs() {
	local i now
	now=$(date +%s)
	for i in 1 2 3 4; do
		head -c 262144 /dev/zero >"$1/blob$i"
		touch -d "@$((now - $2 + i))" "$1/blob$i"
	done
}

# Start the daemon in the foreground on $T/hk.conf; wait until it is up.
start_daemon() {
	"$HKD" -f -v -c "$T/hk.conf" -S "$T/state" "$@" >>"$HK_LOG" 2>&1 &
	HK_PID=$!
	wait_for_log "started" || fail "daemon did not start"
}

# ctl_daemon: start the daemon on the config read from stdin, with a
# private control socket ($S, default $T/ctl.sock) added; wait for it.
# ctl ARGS...: housekeeperctl on that socket.
ctl_daemon() {
	S=${S:-$T/ctl.sock}
	{ cat; printf '\n[daemon]\ncontrol_socket = %s\n' "$S"; } >"$T/hk.conf"
	start_daemon
	wait_until test -S "$S" || fail "control socket $S not created"
}
ctl() { "$HKCTL" -s "$S" "$@"; }

stop_daemon() {
	[ -n "$HK_PID" ] || return 0
	kill -TERM "$HK_PID"
	local rc=0
	wait "$HK_PID" || rc=$?
	HK_PID=
	return $rc
}

# wait_until CMD...: poll CMD until it succeeds or $HK_WAIT seconds pass.
wait_until() {
	local deadline=$(($(date +%s) + HK_WAIT))
	while ! "$@" 2>/dev/null; do
		[ "$(date +%s)" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

wait_for_log() {
	wait_until grep -q -- "$1" "$HK_LOG"
}

# Number of directory entries (any type) in $1.
count_entries() {
	find "$1" -mindepth 1 -maxdepth 1 | wc -l
}

count_is() {
	[ "$(count_entries "$1")" -eq "$2" ]
}

# mkfiles DIR PREFIX N: N files PREFIX001.log... with mtimes one minute
# apart, the first the oldest, all in the past.
mkfiles() {
	local dir=$1 prefix=$2 n=$3 i
	for i in $(seq 1 "$n"); do
		printf 'data %s\n' "$i" >"$dir/$prefix$(printf %03d "$i").log"
		touch -d "@$(($(date +%s) - 3600 + i * 60))" "$dir/$prefix$(printf %03d "$i").log"
	done
}

# The sorted list of names in $1.
names() {
	(cd "$1" && ls -1A | LC_ALL=C sort)
}

# crash_shim: build $T/crash.so, the LD_PRELOAD shim that kills the
# process between the rename and the unlink of a deletion
# (crash-after-rename-shim.c); skips the test where it cannot work.
crash_shim() {
	command -v cc >/dev/null 2>&1 || skip "needs cc"
	if ldd "$HKD" 2>/dev/null | grep -q libasan; then
		skip "ASan build: LD_PRELOAD shims do not mix with ASan"
	fi
	cc -shared -fPIC -o "$T/crash.so" "$top_srcdir/tests/integration/crash-after-rename-shim.c" \
		-ldl 2>"$T/cc.err" || skip "cannot build the LD_PRELOAD shim: $(cat "$T/cc.err")"
}

# crash_once CONFIG STATE: one real --once sweep of CONFIG that is killed
# between the rename and the unlink of its first deletion; fails unless it
# was (a name .housekeeper-deleting-* is then left with its intent open).
crash_once() {
	local rc=0
	LD_PRELOAD="$T/crash.so" "$HKD" --once -c "$1" -S "$2" >"$T/crash.out" 2>&1 || rc=$?
	[ "$rc" = 137 ] || fail "the crash shim did not kill --once (exit $rc): $(tail -3 "$T/crash.out")"
}

# notify_listen SOCK LOG: an sd_notify listener on the datagram socket
# SOCK in the background (NOTIFY_PID), appending each line it receives to
# LOG as "MONOTONIC-SECONDS LINE"; it ends after STOPPING=1 or 60 s
# without a message. Killed by the trap.
notify_listen() {
	python3 - "$1" "$2" <<'EOP' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a") as log:
    try:
        while True:
            msg = s.recv(4096).decode()
            for line in msg.split("\n"):
                log.write("%.3f %s\n" % (time.monotonic(), line))
            log.flush()
            if "STOPPING=1" in msg:
                break
    except socket.timeout:
        pass
EOP
	NOTIFY_PID=$!
	HK_EXTRA_CLEANUP="${HK_EXTRA_CLEANUP:-:}; kill $NOTIFY_PID 2>/dev/null"
	wait_until test -S "$1" || fail "notify listener on $1"
}
