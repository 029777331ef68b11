#!/bin/sh
# A damaged store (SPEC 8: "a newer or corrupt store gives a clear error,
# never a crash"; SAFETY.md: a truncated LMDB file opens and then SIGBUSes
# the reader). For each damage: the daemon (and --once) refuses to start
# with a non-zero exit status that is not a signal, and an error naming the
# file and --reset-state; `housekeeperd --reset-state` then moves the file
# aside (store.mdb.corrupt-*), starts on a fresh store and works.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/store-lib.sh"
command -v timeout >/dev/null 2>&1 || skip "needs timeout(1)"
C="$T/cfg"
D="$T/api"
mkdir -p "$C" "$D"
write_config <<EOC
[scheduler]
housekeeper_schedule = 0 3 1 1 *

[cleanup "cfg"]
directory = $C
pattern = *.log
max_files = 3
EOC

# A good store with some content: an API registration, index entries,
# audit records and a job.
start_daemon
wait_until ctl_up || fail "first start"
API=$(ctl register "$D" --max-files 100) || fail "register"
mkfiles "$C" c 6
mkfiles "$D" d 40
wait_until count_is "$C" 3 || fail "first start: cfg not enforced: $(names "$C")"
wait_until st_is "$API" files 40 || fail "first start: api index $(st_field "$API" files)"
ctl run >/dev/null || fail "run"
# more transactions, so that LMDB reuses freed pages
for i in 1 2 3; do
	rm -f "$D"/d0"$i"*.log
	wait_until st_is "$API" files $((40 - i * 10)) || fail "churn: api index $(st_field "$API" files)"
	ctl run >/dev/null || fail "run $i"
done
stop_daemon || fail "clean stop"
cp "$STATE/store.mdb" "$T/good.mdb"
size=$(stat -c %s "$T/good.mdb")
[ "$size" -ge 16384 ] || fail "store only $size bytes"

# u64 FILE OFFSET: the little-endian u64 at OFFSET
u64() {
	od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '
}

# meta_roots FILE: "PAGESIZE LASTPG MAXROOT" of the newer LMDB meta page
# (pages 0 and 1; each: 16-byte page header, magic, version, address,
# mapsize, free db and main db records of 48 bytes (page size in the free
# db's pad, root at +40), last_pg, txnid; 64-bit build)
meta_roots() {
	ps=$(od -An -t u4 -j 40 -N 4 "$1" | tr -d ' ')
	best=0
	[ "$(u64 "$1" $((ps + 144)))" -le "$(u64 "$1" 144)" ] || best=$ps
	r0=$(u64 "$1" $((best + 80)))
	r1=$(u64 "$1" $((best + 128)))
	[ "$r0" -ge "$r1" ] && max=$r0 || max=$r1
	echo "$ps $(u64 "$1" $((best + 136))) $max"
}

# damage NAME: make store.mdb damaged in the way NAME says
damage() {
	name=$1
	rm -f "$STATE"/store.mdb*
	cp "$T/good.mdb" "$STATE/store.mdb"
	case $1 in
	truncated-half) truncate -s $((size / 2)) "$STATE/store.mdb" ;;
	truncated-tiny) truncate -s 100 "$STATE/store.mdb" ;;
	garbage) head -c "$size" /dev/urandom >"$STATE/store.mdb" ;;
	truncated-keep-roots) # cut right after the root pages of the newest
		# meta page: LMDB reuses freed pages, so the roots are often not
		# the last pages; what lies between them and last_pg is lost
		set -- $(meta_roots "$STATE/store.mdb")
		cut=$(( ($3 + 1) * $1 ))
		if [ "$cut" -ge "$size" ]; then
			echo "note: $name: the roots are the last pages; cutting one page" >&2
			cut=$((size - $1))
		fi
		truncate -s "$cut" "$STATE/store.mdb" ;;
	zeros-tail) # valid meta pages, zeroed data pages
		head -c $((size - 8192)) /dev/zero |
			dd of="$STATE/store.mdb" bs=4096 seek=2 conv=notrunc status=none ;;
	garbage-tail*) # valid meta pages, random data pages
		head -c $((size - 8192)) /dev/urandom |
			dd of="$STATE/store.mdb" bs=4096 seek=2 conv=notrunc status=none ;;
	zeros) head -c "$size" /dev/zero >"$STATE/store.mdb" ;;
	esac
	chmod 0600 "$STATE/store.mdb"
	cp "$STATE/store.mdb" "$T/damaged.mdb"
	# keep the files for a look at what LMDB did with them
	if [ -n "${HK_KEEP_DIR:-}" ]; then
		mkdir -p "$HK_KEEP_DIR"
		cp "$T/good.mdb" "$HK_KEEP_DIR/good.mdb"
		cp "$T/damaged.mdb" "$HK_KEEP_DIR/$name.mdb"
	fi
}

# refuses WHAT CMD...: CMD must exit non-zero without a signal, naming the
# file and --reset-state, within 10 s (a daemon that starts is stopped by
# timeout: exit 124)
refuses() {
	what=$1
	shift
	rc=0
	timeout -k 5 10 "$@" >"$T/out" 2>&1 </dev/null || rc=$?
	[ "$rc" -ne 0 ] || fail "$what: exit 0 on a damaged store: $(cat "$T/out")"
	[ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || fail "$what: started on a damaged store (stopped by timeout)"
	[ "$rc" -lt 128 ] || fail "$what: died of signal $((rc - 128)) on a damaged store: $(tail -5 "$T/out")"
	grep -q -- "$STATE/store.mdb" "$T/out" || fail "$what: error does not name $STATE/store.mdb: $(cat "$T/out")"
	grep -q -- "--reset-state" "$T/out" || fail "$what: error does not mention --reset-state: $(cat "$T/out")"
	cmp -s "$STATE/store.mdb" "$T/damaged.mdb" || fail "$what: the damaged store was modified"
	[ -z "$(find "$STATE" -name 'store.mdb.corrupt-*')" ] || fail "$what: moved aside without --reset-state"
}

# A store cut between its newest root pages and last_pg may have lost only
# free pages (then it is usable) or live ones (then it is corrupt): either
# a clear refusal, or a daemon that starts and serves every database
# (registrations, index, audit, jobs) without a crash.
check_lost_tail() {
	rc=0
	timeout -k 5 10 "$HKD" --once --dry-run -c "$T/hk.conf" -S "$STATE" >"$T/out" 2>&1 </dev/null || rc=$?
	[ "$rc" -lt 124 ] || fail "$kind: --once --dry-run: exit status $rc: $(tail -3 "$T/out")"
	if [ "$rc" -ne 0 ]; then
		refuses "$kind: daemon" "$HKD" -f -c "$T/hk.conf" -S "$STATE"
		return
	fi
	launch_daemon
	wait_up "$kind: accepted store"
	for q in list status audit jobs metrics; do
		ctl --json "$q" >/dev/null || fail "$kind: $q on the accepted store"
	done
	kill -0 "$HK_PID" 2>/dev/null || fail "$kind: daemon died serving the accepted store"
	stop_daemon || fail "$kind: clean stop"
	echo "note: $kind: store accepted (only free pages were cut)" >&2
}

# check_kind KIND: the whole check for one damage (run in a subshell, so
# that a failure is reported and the next kind still runs)
check_kind() {
	kind=$1
	damage "$kind"
	if [ "$kind" = truncated-keep-roots ]; then
		check_lost_tail
		return
	fi
	# (each in a subshell: --reset-state is tried even after a bad refusal)
	bad=
	(refuses "$kind: daemon" "$HKD" -f -c "$T/hk.conf" -S "$STATE") || bad=1
	(refuses "$kind: --once" "$HKD" --once -c "$T/hk.conf" -S "$STATE") || bad=1
	(refuses "$kind: --once --dry-run" "$HKD" --once --dry-run -c "$T/hk.conf" -S "$STATE") || bad=1
	[ ! -S "$SOCK" ] || ! ctl_up || fail "$kind: something answers on $SOCK"
	cp "$T/damaged.mdb" "$STATE/store.mdb"

	# --reset-state: moved aside, fresh store, config registrations work
	rm -f "$C"/*
	mkfiles "$C" "n-$kind-" 5
	launch_daemon --reset-state
	wait_up "$kind: --reset-state"
	moved=$(find "$STATE" -name 'store.mdb.corrupt-*')
	[ "$(echo "$moved" | grep -c .)" -eq 1 ] || fail "$kind: moved aside: '$moved' ($(ls -la "$STATE"))"
	cmp -s "$moved" "$T/damaged.mdb" || fail "$kind: $moved is not the damaged file"
	grep -q "moved aside" "$HK_LOG" || fail "$kind: no log line about moving the store aside"
	[ -f "$STATE/store.mdb" ] || fail "$kind: no new store.mdb"
	ctl --json list | jq -e 'length == 1 and .[0].source == "config"' >/dev/null ||
		fail "$kind: registrations after reset: $(ctl --json list)"
	wait_until count_is "$C" 3 || fail "$kind: cfg not enforced after reset: $(names "$C")"
	[ "$(names "$C")" = "$(printf "n-$kind-%03d.log\n" 3 4 5)" ] ||
		fail "$kind: wrong survivors after reset: $(names "$C")"
	wait_until st_is "$(ctl --json list | jq -r '.[0].id')" files 3 || fail "$kind: status files"
	ctl --json audit --all | jq -e 'length == 2' >/dev/null ||
		fail "$kind: audit of the fresh store: $(ctl --json audit --all)"
	# the new store works across a plain restart
	stop_daemon || fail "$kind: clean stop after reset"
	launch_daemon
	wait_up "$kind: plain start after reset"
	ctl --json audit --all | jq -e 'length == 2' >/dev/null || fail "$kind: audit lost across restart"
	stop_daemon || fail "$kind: clean stop"
	rm -f "$STATE"/store.mdb.corrupt-*
	[ -z "$bad" ] || fail "$kind: not refused as it should be (see above)"
}

# The first five damage the LMDB header or the file length; the last ones
# keep valid meta pages over damaged data pages (random ones, a few times:
# what LMDB then reads is chance).
failed=
for kind in truncated-half truncated-tiny garbage zeros truncated-keep-roots zeros-tail \
	garbage-tail-1 garbage-tail-2 garbage-tail-3 garbage-tail-4; do
	if ! (
		trap '[ -z "$HK_PID" ] || { kill -9 "$HK_PID"; wait "$HK_PID"; } 2>/dev/null' EXIT
		check_kind "$kind"
	); then
		failed="$failed $kind"
	fi
	rm -f "$STATE"/store.mdb.corrupt-* "$SOCK"
done
[ -z "$failed" ] || { echo "FAIL: damaged stores not handled:$failed" >&2; exit 1; }

# --reset-state on a healthy store changes nothing
rm -f "$STATE"/store.mdb*
cp "$T/good.mdb" "$STATE/store.mdb"
chmod 0600 "$STATE/store.mdb"
restart_daemon --reset-state
wait_until ctl_up || fail "--reset-state on a good store"
[ -z "$(find "$STATE" -name 'store.mdb.corrupt-*')" ] || fail "a good store was moved aside"
ctl --json list | jq -e --arg id "$API" 'any(.[]; .id == $id)' >/dev/null ||
	fail "--reset-state lost the API registration of a good store"
stop_daemon || fail "clean stop"
exit 0
