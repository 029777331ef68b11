#!/bin/bash
# Attack (issue 14, finding 2): an unprivileged user (hk-sec-a) registers a
# directory it owns, recursively, through the control socket, with a policy
# that selects every old file (retention 1d). Inside it are trees of other
# owners that the user's own `rm` cannot touch:
#   rootsub/  root 0755, root's old files      (rm as A: EACCES)
#   bsub/     hk-sec-b 0755, B's old files      (rm as A: EACCES)
#   shared/   root 1777 (sticky): B's old file   (rm as A: EPERM)
#             and A's old file                   (A may delete it)
#   private/  root 0700, root's old files       (A cannot even list it)
# A second registration of A (a2, *.dat, max_files 1000: selects nothing)
# holds one file of A and a root 0700 directory with five files.
# Expected (SPEC 7: a registration of a non-root uid is scanned, watched
# and cleaned with that uid's filesystem identity):
#  - the files of root and of B survive byte-for-byte, under the age timer,
#    under new events, and under `housekeeperctl run ID` started by A and by
#    root; no audit record with result "deleted" names them;
#  - the files in a root 0700 directory are never indexed: `status` counts
#    1 file for a2, and `explain` (asked by root) says indexed = false;
#  - positive control: A's own old files, in its directories and in the
#    sticky directory, ARE deleted (and audited as deleted).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
sec_users

SOCK="$T/ctl.sock"
A="$T/a"
A2="$T/a2"
OLD='2001-01-01 00:00:00'
# mkold OWNER FILE TEXT: FILE with TEXT, owned by OWNER, dated 2001
mkold() {
	printf '%s\n' "$3" >"$2"
	chown "$1": "$2"
	touch -d "$OLD" "$2"
}
mkdir -p "$A/mine" "$A/rootsub" "$A/bsub" "$A/shared" "$A/private" "$A2/private"
chown hk-sec-a: "$A" "$A/mine" "$A2"
chown hk-sec-b: "$A/bsub"
chmod 0755 "$A" "$A/mine" "$A/rootsub" "$A/bsub" "$A2"
chmod 1777 "$A/shared"
chmod 0700 "$A/private" "$A2/private"
mkold hk-sec-a "$A/own1.log" own1
mkold hk-sec-a "$A/own2.log" own2
mkold hk-sec-a "$A/mine/own3.log" own3
mkold hk-sec-a "$A/shared/sa1.log" sa1
for i in 1 2; do
	mkold root "$A/rootsub/r$i.log" "root $i"
	mkold hk-sec-b "$A/bsub/b$i.log" "b $i"
	mkold root "$A/private/p$i.log" "private $i"
done
mkold hk-sec-b "$A/shared/sb1.log" sb1
mkold hk-sec-a "$A2/x.dat" x
for i in 1 2 3 4 5; do mkold root "$A2/private/p$i.dat" "p $i"; done
touch -d "$OLD" "$A/rootsub" "$A/bsub" "$A/private"

sec_snap "$A/rootsub" "$T/rootsub.snap"
sec_snap "$A/bsub" "$T/bsub.snap"
sec_snap "$A/private" "$T/private.snap"
sec_snap "$A/shared/sb1.log" "$T/sb1.snap"
sec_snap "$A2/private" "$T/a2private.snap"
# gone SNAP: the regular files of SNAP that are no longer there
gone() { awk '$6 == "f" { print $1 }' "$1" | while read -r f; do [ -e "$f" ] || echo "$f"; done; }
check_others() {
	local when=$1 s
	for s in rootsub bsub private; do
		sec_snap "$A/$s" "$T/$s.snap.now"
		cmp -s "$T/$s.snap" "$T/$s.snap.now" ||
			sec_fail_later "$when: $A/$s (not hk-sec-a's) changed; deleted: $(gone "$T/$s.snap" | tr '\n' ' ')"
	done
	sec_snap "$A/shared/sb1.log" "$T/sb1.snap.now"
	cmp -s "$T/sb1.snap" "$T/sb1.snap.now" ||
		sec_fail_later "$when: hk-sec-b's file in the sticky directory changed or deleted: $(diff "$T/sb1.snap" "$T/sb1.snap.now" | grep '^[<>]' | head -3)"
	sec_snap "$A2/private" "$T/a2private.snap.now"
	cmp -s "$T/a2private.snap" "$T/a2private.snap.now" || sec_fail_later "$when: $A2/private changed"
}

write_config <<EOC
[daemon]
control_socket = $SOCK
$(sec_canary_conf)
EOC
start_daemon
wait_until test -S "$SOCK" || fail "control socket $SOCK not created"
chmod 0666 "$SOCK"
ctl() { "$HKCTL" -s "$SOCK" "$@"; }
actl() { sec_run_as hk-sec-a "$HKCTL" -s "$SOCK" "$@"; }
sec_probe

ID=$(actl register "$A" --recursive --retention 1d) || fail "hk-sec-a could not register $A"
ID2=$(actl register "$A2" --recursive --pattern '*.dat' --max-files 1000) ||
	fail "hk-sec-a could not register $A2"
[ "$(ctl --json list | jq -r --arg id "$ID" '.[] | select(.id == $id) | .directory')" = "$A" ] ||
	fail "registration $ID not listed: $(ctl --json list)"

own_gone() { sec_nothing "$A" -name 'own*' -o -name 'sa*'; }

# 1. age timer after the first scan: A's own files go, nothing else
wait_until own_gone ||
	sec_fail_later "positive control: hk-sec-a's own expired files were not deleted: $(find "$A" -name 'own*' -o -name 'sa*')"
sec_probe
sleep 0.5
sec_probe
check_others "age timer"

# 2. a root 0700 directory is not even indexed
files=$(ctl --json status | jq -r --arg id "$ID2" '.[] | select(.id == $id) | .files')
[ "$files" = 1 ] ||
	sec_fail_later "status counts $files files in $A2 (hk-sec-a's), expected 1: the files of root's 0700 $A2/private were indexed"
ctl --json explain "$A2/private/p1.dat" >"$T/explain" || fail "explain failed"
jq -e --arg id "$ID2" '.registrations[] | select(.id == $id) | .indexed == false' "$T/explain" >/dev/null ||
	sec_fail_later "explain: $A2/private/p1.dat (root 0700) indexed under hk-sec-a's registration: $(jq -c . "$T/explain")"
jq -e --arg id "$ID2" '.registrations[] | select(.id == $id) | .indexed == true' \
	<(ctl --json explain "$A2/x.dat") >/dev/null ||
	sec_fail_later "explain: hk-sec-a's own $A2/x.dat is not indexed: $(ctl --json explain "$A2/x.dat")"

# 3. events: new old-dated files of every owner
stage="$T/stage"
mkdir -p "$stage"
chmod 0777 "$stage"
mkold root "$stage/r3.log" "root 3"
mkold hk-sec-b "$stage/b3.log" "b 3"
mkold hk-sec-b "$stage/sb2.log" "sb 2"
mv "$stage/r3.log" "$A/rootsub/r3.log"
mv "$stage/b3.log" "$A/bsub/b3.log"
mv "$stage/sb2.log" "$A/shared/sb2.log"
mkold hk-sec-a "$stage/own4.log" own4
mkold hk-sec-a "$stage/own5.log" own5
mkold hk-sec-a "$stage/sa2.log" sa2
mv "$stage/own4.log" "$A/own4.log"
mv "$stage/own5.log" "$A/mine/own5.log"
mv "$stage/sa2.log" "$A/shared/sa2.log"
wait_until own_gone ||
	sec_fail_later "positive control (events): hk-sec-a's new expired files were not deleted: $(find "$A" -name 'own*' -o -name 'sa*')"
sec_probe
sleep 0.5
sec_probe
for f in rootsub/r3.log:"root 3" bsub/b3.log:"b 3" shared/sb2.log:"sb 2"; do
	[ "$(cat "$A/${f%%:*}" 2>/dev/null)" = "${f#*:}" ] ||
		sec_fail_later "events: $A/${f%%:*} (not hk-sec-a's) deleted or changed"
done
# the event files are part of the trees now
sec_snap "$A/rootsub" "$T/rootsub.snap"
sec_snap "$A/bsub" "$T/bsub.snap"

# 4. manual runs, by the owner and by root (root's request does not
# lend root's rights to the registration either)
for who in hk-sec-a root; do
	mkold hk-sec-a "$A/own6.log" own6
	mkold hk-sec-a "$A/mine/own7.log" own7
	rc=0
	if [ "$who" = root ]; then
		ctl run "$ID" >"$T/run.$who" 2>&1 || rc=$?
	else
		actl run "$ID" >"$T/run.$who" 2>&1 || rc=$?
	fi
	# 1 = some deletion failed (the kernel refused root's files): allowed
	[ "$rc" -le 1 ] || sec_fail_later "run $ID as $who: exit $rc: $(cat "$T/run.$who")"
	wait_until own_gone || sec_fail_later "positive control (run as $who): hk-sec-a's files left"
	check_others "run as $who"
done

# 5. the audit trail: A's files deleted, nobody else's
ctl --json audit --all --id "$ID" >"$T/audit" || fail "audit failed"
jq -e '[.[] | select(.result == "deleted" and (.path | test("/own[0-9]\\.log$")))] | length >= 5' \
	"$T/audit" >/dev/null ||
	sec_fail_later "positive control: hk-sec-a's deletions are not audited: $(head -c 600 "$T/audit")"
bad=$(jq -r '.[] | select(.result == "deleted" and (.path | test("/(rootsub|bsub|private)/|/sb[0-9]\\.log$"))) | .path' "$T/audit")
[ -z "$bad" ] || sec_fail_later "audited as deleted under hk-sec-a's registration, not hk-sec-a's files: $(echo $bad)"

sec_alive || fail "daemon died"
stop_daemon || fail "daemon did not stop cleanly"
sec_finish
