#!/bin/bash
# Attack (issue 14, finding 3): ownership is checked when a user registers,
# not afterwards. The unprivileged user hk-sec-a owns $T/u and registers
# directories below it (retention 1d: every old file is selected), then
# puts root's files where its registered directory was:
#  (a) rename swap: a root-owned 0755 directory with root's old files,
#      created by root in hk-sec-a's $T/u, is renamed by hk-sec-a into the
#      place of the registered $T/u/dir (the user's directory moved aside);
#  (b) parent swap: registered $T/u/p/dir; hk-sec-a renames p aside and a
#      root-owned tree p/dir of the same shape into its place;
#  (c) a mount over the registered $T/u/m: a tmpfs (root 0755, root's old
#      files), then a bind mount of a root-owned 0755 directory.
# Each is then driven by the running daemon: the event that reveals the
# swap, a new old-dated file of root's arriving (event), and
# `housekeeperctl run ID` by hk-sec-a.
# Expected (SPEC 7: a registration of a non-root uid is scanned and
# cleaned with that uid's filesystem identity, so the kernel refuses what
# hk-sec-a could not do): root's files survive byte-for-byte; the audit
# trail has no record with result "deleted" (nor an open "intent") for
# them; positive control: once hk-sec-a restores its directory, its own
# old files there are deleted again, by events and by a run.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
sec_users

SOCK="$T/ctl.sock"
U="$T/u"
OLD='2001-01-01 00:00:00'
mkold() {
	printf '%s\n' "$3" >"$2"
	chown "$1": "$2"
	touch -d "$OLD" "$2"
}
# a root tree: DIR (root 0755) with root's old files PREFIX1..3.log
mkroot() {
	mkdir -p "$1"
	chmod 0755 "$1"
	for i in 1 2 3; do mkold root "$1/$2$i.log" "root $2 $i"; done
	touch -d "$OLD" "$1"
}
# snapshots with paths relative to the tree (the trees are renamed), all
# but the tree's own line (its mtime moves as new files arrive)
rsnap() { (cd "$1" && sec_snap . "$2") && sed -i '/^\. /d' "$2"; }
# rcheck DIR SNAP WHAT: every entry of SNAP is still in DIR, unchanged
# (new files may have arrived since)
rcheck() {
	local lost
	rsnap "$1" "$2.now"
	lost=$(LC_ALL=C comm -23 <(LC_ALL=C sort "$2") <(LC_ALL=C sort "$2.now"))
	[ -z "$lost" ] ||
		sec_fail_later "$3: root's files in $1 changed or deleted: $(echo "$lost" | grep -o '\./[^ ]*' | sort -u | tr '\n' ' ')"
}
mkdir -p "$U/dir" "$U/p/dir" "$U/m" "$T/astage"
chown hk-sec-a: "$U" "$U/dir" "$U/p" "$U/p/dir" "$U/m" "$T/astage"
chmod 0755 "$U" "$U/dir" "$U/p" "$U/p/dir" "$U/m"

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
as_a() { sec_run_as hk-sec-a "$@"; }
sec_probe

# own DIR N: hk-sec-a's old file DIR/ownN.log, staged in $T/astage and
# moved in as hk-sec-a
own() {
	as_a sh -c 'echo "own $2" >"$3/own$2.log" && touch -d "2001-01-01" "$3/own$2.log" &&
		mv "$3/own$2.log" "$1/own$2.log"' sh "$1" "$2" "$T/astage" ||
		fail "hk-sec-a cannot write in $1"
}
# positive DIR N ID WHAT: hk-sec-a's old file in DIR goes (event), and
# again under a run by hk-sec-a
positive() {
	own "$1" "$2"
	wait_until test ! -e "$1/own$2.log" ||
		sec_fail_later "positive control ($4): hk-sec-a's expired $1/own$2.log not deleted"
	own "$1" "$(($2 + 1))"
	rc=0
	actl run "$3" >"$T/run.out" 2>&1 || rc=$?
	[ "$rc" -le 1 ] || sec_fail_later "$4: run exited $rc: $(cat "$T/run.out")"
	wait_until test ! -e "$1/own$(($2 + 1)).log" ||
		sec_fail_later "positive control ($4, run): hk-sec-a's expired $1/own$(($2 + 1)).log not deleted"
}
# attack ID DIR SNAP WHAT: drive the registration whose directory now
# holds root's tree: a new old file of root's (event), a run by hk-sec-a;
# root's tree must be unchanged (the new file included)
attack() {
	local id=$1 d=$2 snap=$3 what=$4 rc=0
	sec_probe
	mkold root "$T/stage-$what.log" "root new"
	mv "$T/stage-$what.log" "$d/new-$what.log"
	# the event path: give it time to act (it acts within a second)
	sec_probe
	sleep 1
	sec_probe
	rcheck "$d" "$snap" "$what (events)"
	[ "$(cat "$d/new-$what.log" 2>/dev/null)" = "root new" ] ||
		sec_fail_later "$what (events): root's new file $d/new-$what.log deleted"
	actl run "$id" >"$T/run.out" 2>&1 || rc=$?
	[ "$rc" -le 1 ] || sec_fail_later "$what: run exited $rc: $(cat "$T/run.out")"
	sec_probe
	rcheck "$d" "$snap" "$what (run by hk-sec-a)"
	[ "$(cat "$d/new-$what.log" 2>/dev/null)" = "root new" ] ||
		sec_fail_later "$what (run by hk-sec-a): root's new file $d/new-$what.log deleted"
}

ID1=$(actl register "$U/dir" --retention 1d) || fail "hk-sec-a could not register $U/dir"
ID2=$(actl register "$U/p/dir" --retention 1d) || fail "hk-sec-a could not register $U/p/dir"
ID3=$(actl register "$U/m" --retention 1d) || fail "hk-sec-a could not register $U/m"
positive "$U/dir" 1 "$ID1" "before the swap"
positive "$U/p/dir" 1 "$ID2" "before the parent swap"
positive "$U/m" 1 "$ID3" "before the mount"

# (a) rename swap, done by hk-sec-a in its own $U
mkroot "$U/rootdir" ra
rsnap "$U/rootdir" "$T/a.snap"
as_a mv "$U/dir" "$U/dir.away" || fail "hk-sec-a cannot rename its directory"
as_a mv "$U/rootdir" "$U/dir" || fail "hk-sec-a cannot rename root's directory in its own parent"
rcheck "$U/dir" "$T/a.snap" "rename swap (at once)"
attack "$ID1" "$U/dir" "$T/a.snap" rename-swap
as_a mv "$U/dir" "$U/rootdir"
as_a mv "$U/dir.away" "$U/dir"
sec_probe
positive "$U/dir" 3 "$ID1" "after undoing the rename swap"

# (b) parent swap
mkdir -p "$U/rootp"
chmod 0755 "$U/rootp"
mkroot "$U/rootp/dir" rb
rsnap "$U/rootp/dir" "$T/b.snap"
as_a mv "$U/p" "$U/p.away" || fail "hk-sec-a cannot rename its parent directory"
as_a mv "$U/rootp" "$U/p" || fail "hk-sec-a cannot rename root's tree into place"
attack "$ID2" "$U/p/dir" "$T/b.snap" parent-swap
as_a mv "$U/p" "$U/rootp"
as_a mv "$U/p.away" "$U/p"
sec_probe
positive "$U/p/dir" 3 "$ID2" "after undoing the parent swap"

# (c) mounts over the registered path: prepared aside, then moved or
# bound into place in one step (the daemon follows mount table changes)
mkdir -p "$T/tmpfs"
mount -t tmpfs -o size=1m,mode=0755 hk-sec "$T/tmpfs" || skip "cannot mount tmpfs"
for i in 1 2 3; do mkold root "$T/tmpfs/rc$i.log" "root rc $i"; done
touch -d "$OLD" "$T/tmpfs"
rsnap "$T/tmpfs" "$T/c.snap"
mount --move "$T/tmpfs" "$U/m" || fail "cannot move the tmpfs over $U/m"
attack "$ID3" "$U/m" "$T/c.snap" tmpfs-over-path
# the daemon may hold the tmpfs open: detach it lazily then
umount "$U/m" 2>/dev/null || umount -l "$U/m" || fail "cannot unmount the tmpfs"
sec_probe
positive "$U/m" 3 "$ID3" "after the tmpfs is gone"
mkroot "$T/rootbind" rd
rsnap "$T/rootbind" "$T/d.snap"
mount --bind "$T/rootbind" "$U/m" || fail "cannot bind mount"
attack "$ID3" "$U/m" "$T/d.snap" bind-over-path
umount "$U/m" 2>/dev/null || umount -l "$U/m" || fail "cannot unmount the bind mount"
sec_probe
positive "$U/m" 5 "$ID3" "after the bind mount is gone"

# the audit trail: nothing of root's deleted (or left as an open intent)
# under hk-sec-a's registrations
ctl --json audit --all >"$T/audit" || fail "audit failed"
bad=$(jq -r '.[] | select((.path | test("/(r[abcd][0-9]|new-[^/]*)\\.log$")) and
	(.result == "deleted" or .result == "intent")) | "\(.path) (\(.result), registration \(.registration_id))"' "$T/audit" | tr '\n' ' ')
[ -z "$bad" ] || sec_fail_later "root's files audited under hk-sec-a's registrations: $bad"
other=$(jq -r '.[] | select((.path | test("/(r[abcd][0-9]|new-[^/]*)\\.log$")) and
	.result != "deleted" and .result != "intent") | .result' "$T/audit" | sort | uniq -c | tr '\n' ' ')
[ -z "$other" ] || echo "NOTE: audit records of refused attempts on root's files: $other" >&2
jq -e '[.[] | select(.result == "deleted" and (.path | test("/own[0-9]\\.log$")))] | length >= 12' "$T/audit" >/dev/null ||
	sec_fail_later "positive control: hk-sec-a's deletions are not all audited: $(jq -c '[.[] | select(.path | test("/own")) | .path]' "$T/audit")"

sec_alive || fail "daemon died"
stop_daemon || fail "daemon did not stop cleanly"
sec_finish
