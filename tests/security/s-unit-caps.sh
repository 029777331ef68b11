#!/bin/bash
# Under the shipped unit's capabilities (CapabilityBoundingSet= of
# contrib/systemd/housekeeper.service.in, nothing else), a user's
# registration is still cleaned with the user's identity: the daemon must
# be able to switch fsuid, fsgid and groups (CAP_SETUID, CAP_SETGID), and
# without them a user's registration would silently do nothing.
# Expected: hk-sec-a's expired file is deleted; root's file in a root
# 0755 subdirectory of hk-sec-a's tree survives; the log has no
# "cannot act with the identity" line.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"
sec_users
unit="$top_srcdir/contrib/systemd/housekeeper.service.in"
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
[ -n "$caps" ] || fail "no CapabilityBoundingSet= in $unit"
bset=-all
for c in $caps; do
	c=${c#CAP_}
	bset="$bset,+$(echo "$c" | tr 'A-Z' 'a-z')"
done
setpriv --bounding-set="$bset" true 2>/dev/null || skip "setpriv cannot set the bounding set"

SOCK="$T/ctl.sock"
A="$T/a"
mkdir -p "$A/rootsub"
echo mine >"$A/own.log"
echo root >"$A/rootsub/r.log"
chown hk-sec-a: "$A" "$A/own.log"
touch -d '2001-01-01' "$A/own.log" "$A/rootsub/r.log"
write_config <<EOC
[daemon]
control_socket = $SOCK
EOC
setpriv --bounding-set="$bset" --inh-caps=-all "$HKD" -f -v -c "$T/hk.conf" -S "$T/state" \
	>>"$HK_LOG" 2>&1 &
HK_PID=$!
wait_until test -S "$SOCK" || fail "control socket $SOCK not created under the unit's capabilities"
chmod 0666 "$SOCK"
sec_run_as hk-sec-a "$HKCTL" -s "$SOCK" register "$A" --recursive --retention 1d >/dev/null ||
	fail "hk-sec-a could not register $A"
wait_until test ! -e "$A/own.log" ||
	sec_fail_later "under the unit's capabilities hk-sec-a's own expired file was not deleted"
sleep 0.5
[ -e "$A/rootsub/r.log" ] || sec_fail_later "root's file in hk-sec-a's tree was deleted"
! grep -q 'cannot act with the identity' "$HK_LOG" ||
	sec_fail_later "the identity switch failed under the unit's capabilities: $(grep 'cannot act' "$HK_LOG" | head -1)"
sec_finish
