#!/bin/bash
# Attack (documents current behaviour, not a pass/fail of a rule): in a
# shared sticky directory (mode 1777) under keep-newest-N (max_files = 5),
# an unprivileged user creates 5 files of its own and dates them 2100
# (any owner may set any mtime on its files with utimensat). The policy
# orders by mtime, so those 5 files are "the newest 5" and every file of
# the other users is deleted as excess, now and for every new file they
# write until 2100.
#
# WHAT HAPPENS NOW (asserted below, --once and running daemon): the
# 2100-dated files count as newest; all of the victims' files go (reason
# "count"), the attacker's five stay. SPEC 5 orders by the age_by time
# with no notion of a future time, so this is per spec, and it is a way
# for one user to get the files of others deleted. Possible mitigations
# for the lead to decide: clamp keys to now (+ slack) when ordering; treat
# future-dated files as the oldest, or exclude them from count/size
# ordering; or per-owner limits.
#
# THE MITIGATION (docs/SECURITY.md, tested at the end): in a directory
# shared between users, age_by = ctime. The change time is set by the
# kernel on every change (touch -d included) and cannot be forged, so the
# attacker's files are as old as the moment they were made, and the
# victims' newer files survive.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"

ATT=nobody
id "$ATT" >/dev/null 2>&1 || skip "no user $ATT"
S="$T/shared"
mkdir -p "$S"
chmod 1777 "$S"
chmod 755 "$T"
as_att() { setpriv --reuid="$(id -u $ATT)" --regid="$(id -g $ATT)" --clear-groups "$@"; }
victims() {
	local now i
	now=$(date +%s)
	for i in 1 2 3 4; do
		echo "victim $i" >"$S/victim$i.dat"
		chown daemon: "$S/victim$i.dat" 2>/dev/null || true
		touch -d "@$((now - 600 + i))" "$S/victim$i.dat"
	done
}
attack() {
	as_att sh -c 'for i in 1 2 3 4 5; do echo x >"$1/zz-att$i.dat"; touch -d "2100-01-0$i" "$1/zz-att$i.dat"; done' sh "$S" ||
		skip "cannot act as $ATT"
}
write_config <<EOC
[cleanup "shared"]
directory = $S
max_files = 5
$(sec_canary_conf)
EOC
want="zz-att1.dat zz-att2.dat zz-att3.dat zz-att4.dat zz-att5.dat"

victims
attack
sec_once "$T/once1" || fail "--once failed"
[ "$(echo $(names "$S"))" = "$want" ] || fail "--once: unexpected survivors: $(names "$S")"
[ "$(grep -c '^deleted .*count.*victim' "$T/once1")" -eq 4 ] || fail "report: $(cat "$T/once1")"
echo "NOTE: 2100-dated files of $ATT pushed out all 4 victim files (--once)" >&2

rm -f "$S"/*
victims
start_daemon
sec_probe
attack
sec_probe
wait_until sec_nothing "$S" -name 'victim*' || fail "victims not pushed out"
[ "$(echo $(names "$S"))" = "$want" ] || fail "daemon: unexpected survivors: $(names "$S")"
# a victim writing a fresh file: it goes at once
echo fresh >"$S/victim-new.dat"
wait_until test ! -e "$S/victim-new.dat" || fail "fresh victim file kept"
echo "NOTE: a victim's fresh file is deleted at once while the 2100 files are there" >&2
sec_probe
stop_daemon || fail "daemon did not stop cleanly"

# the mitigation: age_by = ctime
rm -f "$S"/*
attack
sleep 1.1
victims
write_config <<EOC
[cleanup "shared"]
directory = $S
max_files = 5
age_by = ctime
$(sec_canary_conf)
EOC
sec_once "$T/once2" || fail "--once (ctime) failed"
for i in 1 2 3 4; do
	[ -e "$S/victim$i.dat" ] || fail "age_by = ctime: victim$i.dat deleted: $(cat "$T/once2")"
done
[ "$(ls "$S" | wc -l)" -eq 5 ] || fail "age_by = ctime: expected 5 survivors: $(names "$S")"
echo "NOTE: with age_by = ctime the forged dates do not push the victims out" >&2
exit 0
