#!/bin/bash
# Attack: registrations that cover the daemon's own files. Before, a
# registration of the state directory, or a recursive one above it,
# deleted store.mdb-lock and the reports (and could delete store.mdb).
# Expected (SPEC 7, SPEC 3 Errors):
#   - a registration whose directory is the state directory or inside it
#     (as written, through [daemon] state_directory or -S, or through a
#     symlink) is a configuration error "file:line: message" (-t);
#   - through the API it is refused with a clear error;
#   - a recursive `pattern = *`, `max_files = 0` registration of a parent
#     of the state directory, of a report directory outside it and of the
#     metrics textfile and control socket: the daemon runs, sweeps, keeps
#     every file of its own (and anything planted in its state and report
#     directories), says so in -T and explain, and works after a restart;
#   - positive control: the other expired files of that tree are deleted.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

V="$T/var"
STATE="$V/state"
REPORTS="$V/reports-out"
METRICS="$V/metrics.prom"
SOCK="$V/hk.sock"
mkdir -p "$V/sub"

# --- configuration errors -------------------------------------------------
cat >"$T/bad1.conf" <<EOC
[cleanup "state"]
pattern = *
directory = $STATE
max_files = 0
EOC
rc=0
"$HKD" -t -c "$T/bad1.conf" -S "$STATE" >"$T/t1.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || sec_fail_later "-t accepts a registration of the state directory (-S)"
grep -q "^$T/bad1.conf:3: directory: '$STATE' is the state directory" "$T/t1.out" ||
	sec_fail_later "-t: no file:line error for the state directory: $(cat "$T/t1.out")"
cat >"$T/bad2.conf" <<EOC
[daemon]
state_directory = $STATE

[cleanup "inside"]
directory = $STATE/sub
max_files = 0
EOC
rc=0
"$HKD" -t -c "$T/bad2.conf" >"$T/t2.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || sec_fail_later "-t accepts a registration inside the state directory"
grep -q "^$T/bad2.conf:5: directory: '$STATE/sub' is the state directory" "$T/t2.out" ||
	sec_fail_later "-t: no file:line error for a directory inside the state directory: $(cat "$T/t2.out")"
mkdir -p "$STATE"
ln -s "$STATE" "$T/state-link"
cat >"$T/bad3.conf" <<EOC
[cleanup "via-link"]
directory = $T/state-link
max_files = 0
EOC
rc=0
"$HKD" -t -c "$T/bad3.conf" -S "$STATE" >"$T/t3.out" 2>&1 || rc=$?
[ "$rc" != 0 ] || sec_fail_later "-t accepts the state directory through a symlink"
grep -q "^$T/bad3.conf:2: directory: '$T/state-link' resolves to '$STATE'" "$T/t3.out" ||
	sec_fail_later "-t: no file:line error for the symlinked state directory: $(cat "$T/t3.out")"
# a start with such a configuration fails
rc=0
timeout 20 "$HKD" -f -c "$T/bad1.conf" -S "$STATE" >"$T/start-bad.out" 2>&1 || rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || sec_fail_later "the daemon starts (or hangs, $rc) with a registration of its state directory"

# --- a recursive registration above all of it -----------------------------
write_config <<EOC
[scheduler]
housekeeper_report_directory = $REPORTS

[daemon]
metrics_textfile = $METRICS
control_socket = $SOCK

[cleanup "everything"]
directory = $V
recursive = yes
max_files = 0
$(sec_canary_conf)
EOC
"$HKD" -t -c "$T/hk.conf" -S "$STATE" >/dev/null 2>&1 || fail "-t rejects the parent registration"
"$HKD" -T -c "$T/hk.conf" -S "$STATE" >"$T/print.out" 2>&1 || fail "-T"
sed -n '/\[cleanup "everything"\]/q;p' "$T/print.out" | tail -6 >"$T/print.head"
for what in "state directory $STATE" "report directory $REPORTS" "metrics textfile $METRICS" \
	"control socket $SOCK"; do
	grep -q "^; skips the $what" "$T/print.head" ||
		sec_fail_later "-T does not say the registration skips the $what: $(cat "$T/print.head")"
done

victims() {
	mkdir -p "$V/sub/deeper"
	for f in "$V/junk.log" "$V/sub/junk2" "$V/sub/deeper/junk3"; do
		echo junk >"$f"
		touch -d 2001-01-01 "$f"
	done
}
victims_gone() {
	[ ! -e "$V/junk.log" ] && [ ! -e "$V/sub/junk2" ] && [ ! -e "$V/sub/deeper/junk3" ]
}
start() {
	"$HKD" -f -v -c "$T/hk.conf" -S "$STATE" >>"$HK_LOG" 2>&1 &
	HK_PID=$!
	wait_until test -S "$SOCK" || fail "daemon did not start"
}
ctl() { "$HKCTL" -s "$SOCK" "$@"; }

victims
start
wait_until victims_gone || sec_fail_later "control: the expired files of the tree were not deleted"
wait_until test -e "$METRICS" || sec_fail_later "no metrics textfile"
ctl run >/dev/null 2>&1 || sec_fail_later "manual run failed"
wait_until sec_nothing "$REPORTS" -maxdepth 1 -type f -name '*.tmp*' || true
ls -A "$STATE" | LC_ALL=C sort >"$T/state.names"
for n in store.mdb store.mdb-lock; do
	grep -qx "$n" "$T/state.names" || sec_fail_later "$STATE/$n is gone: $(tr '\n' ' ' <"$T/state.names")"
done
[ -n "$(ls -A "$REPORTS" 2>/dev/null)" ] || sec_fail_later "no report in $REPORTS"
# planted in the daemon's own directories: kept too
echo planted >"$STATE/planted.log"
echo planted >"$REPORTS/planted.log"
touch -d 2001-01-01 "$STATE/planted.log" "$REPORTS/planted.log"
ls -A "$REPORTS" | LC_ALL=C sort >"$T/reports.names"
victims
sec_probe
wait_until victims_gone || sec_fail_later "control: new expired files were not deleted"
ctl run >/dev/null 2>&1 || sec_fail_later "second manual run failed"
ctl run --dry-run >/dev/null 2>&1 || sec_fail_later "manual dry run failed"
own_intact() {
	local n
	while read -r n; do
		[ -e "$STATE/$n" ] || sec_fail_later "$1: $STATE/$n was deleted"
	done <"$T/state.names"
	while read -r n; do
		[ -e "$REPORTS/$n" ] || sec_fail_later "$1: $REPORTS/$n was deleted"
	done <"$T/reports.names"
	[ -e "$STATE/planted.log" ] || sec_fail_later "$1: a file in the state directory was deleted"
	[ -e "$METRICS" ] || sec_fail_later "$1: the metrics textfile was deleted"
	# (a daemon that stops removes its socket itself)
	[ "$1" = stopped ] || [ -S "$SOCK" ] || sec_fail_later "$1: the control socket is gone"
}
own_intact "running"
ctl explain "$STATE/store.mdb" >"$T/explain.out" 2>&1 || sec_fail_later "explain failed"
grep -q "the daemon's state directory" "$T/explain.out" ||
	sec_fail_later "explain does not say the state directory is skipped: $(cat "$T/explain.out")"
ctl explain "$REPORTS/planted.log" >"$T/explain2.out" 2>&1 || sec_fail_later "explain failed"
grep -q "the daemon's report directory" "$T/explain2.out" ||
	sec_fail_later "explain does not say the report directory is skipped: $(cat "$T/explain2.out")"
# the API refuses the state directory and what is inside it
for d in "$STATE" "$STATE/sub"; do
	mkdir -p "$d"
	rc=0
	ctl register "$d" --max-files 0 >"$T/reg.out" 2>&1 || rc=$?
	[ "$rc" != 0 ] || sec_fail_later "the API registered $d"
	grep -q "state directory" "$T/reg.out" ||
		sec_fail_later "the API error for $d does not name the state directory: $(cat "$T/reg.out")"
done
sec_probe

# --- restart: the store opens, everything keeps working ----------------------
stop_daemon || sec_fail_later "daemon did not stop cleanly"
own_intact "stopped"
start
victims
wait_until victims_gone || sec_fail_later "after the restart: expired files were not deleted"
sec_probe
ctl run >/dev/null 2>&1 || sec_fail_later "manual run after the restart failed"
own_intact "restarted"
grep -q "cannot open\|store.*corrupt\|unusable" "$HK_LOG" && sec_fail_later "store trouble: $(grep -m3 'cannot open\|corrupt\|unusable' "$HK_LOG")"
stop_daemon || sec_fail_later "daemon did not stop cleanly after the restart"
sec_finish
