#!/bin/bash
# Finding 2 of issue 14, identity of a registration (SPEC 4): registering
# is idempotent per owner, by the directory walked without following
# symlinks; another uid's call, root's included, never returns or
# changes a registration.
#
# The hijack: user A registers a directory it owns, then turns that path
# into a symlink to root's directory. Root registers its own directory
# (as an application does at every start). Matched by realpath() and
# pattern across owners, root got A's registration back, still owned by
# A, with its directory now root's; A then lowered the limits and root's
# files were deleted. Here root must get a registration of its own, A's
# must stay as it was, and nothing of root's may go.
#
# Also: root registering a path that user B registered gets a different
# id and leaves B's untouched; nobody, root included, registers through
# a symlink. Positive control: A, with its directory back, re-registers
# and gets its own id, and its own expired files are deleted.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/../integration/lib.sh"
. "$(dirname "$0")/seclib.sh"
command -v jq >/dev/null 2>&1 || skip "needs jq"
command -v setpriv >/dev/null 2>&1 || skip "needs setpriv"

UA=hk-sec-a
UB=hk-sec-b
sec_user "$UA"
sec_user "$UB"
CTLG=$(sec_group hk-sec-ctl)
SOCK="$T/run/ctl.sock"
ROOTDIR="$T/root-logs"
A_HOME="$T/a"
B_HOME="$T/b"
chmod 755 "$T"
mkdir -m 700 "$ROOTDIR"
mkdir -m 755 "$A_HOME" "$A_HOME/logs" "$B_HOME" "$B_HOME/logs"
chown "$UA:" "$A_HOME" "$A_HOME/logs"
chown "$UB:" "$B_HOME" "$B_HOME/logs"
mkfiles "$ROOTDIR" root- 6
touch -d '2 days ago' "$ROOTDIR"/*.log
sec_snap "$ROOTDIR" "$T/root.snap"

write_config <<EOC
[daemon]
control_socket = $SOCK
control_group = hk-sec-ctl
$(sec_canary_conf)
EOC
start_daemon
wait_until test -S "$SOCK" || fail "control socket not created"
ctl() { "$HKCTL" -s "$SOCK" "$@"; }
as_a() { sec_as "$UA" "$CTLG" "$@"; }
as_b() { sec_as "$UB" "$CTLG" "$@"; }
reg_field() { ctl --json list | jq -r --arg id "$1" ".[] | select(.id == \$id) | $2"; }

# 1. A registers its own directory, then swaps a symlink to root's in
ID_A=$(as_a "$HKCTL" -s "$SOCK" register "$A_HOME/logs" --pattern '*.log' --retention 30d) ||
	fail "$UA: register its own directory"
as_a mv "$A_HOME/logs" "$A_HOME/logs.real" || fail "$UA: mv"
as_a ln -s "$ROOTDIR" "$A_HOME/logs" || fail "$UA: ln -s"

# 2. root registers root's directory: its own registration, not A's
ID_R=$(ctl register "$ROOTDIR" --pattern '*.log' --retention 30d) || fail "root: register $ROOTDIR"
[ "$ID_R" != "$ID_A" ] ||
	sec_fail_later "root's register of $ROOTDIR returned $UA's registration $ID_A"
[ "$(reg_field "$ID_R" .owner_uid)" = 0 ] ||
	sec_fail_later "root's registration $ID_R is owned by uid $(reg_field "$ID_R" .owner_uid)"
[ "$(reg_field "$ID_A" .directory)" = "$A_HOME/logs" ] ||
	sec_fail_later "$UA's registration now names $(reg_field "$ID_A" .directory)"
[ "$(reg_field "$ID_A" .owner_uid)" = "$(id -u $UA)" ] ||
	sec_fail_later "$UA's registration changed owner"

# 3. A lowers its limits and runs: nothing of root's may go
as_a "$HKCTL" -s "$SOCK" update "$ID_A" --max-files 0 >/dev/null ||
	sec_fail_later "$UA: update of its own registration"
as_a "$HKCTL" -s "$SOCK" run "$ID_A" >/dev/null 2>&1 || true
sec_probe
sec_check "$ROOTDIR" "$T/root.snap"

# 4. nobody registers through the symlink, root included
rc=0; as_a "$HKCTL" -s "$SOCK" register "$A_HOME/logs" --pattern '*.log' 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q symlink "$T/err" ||
	sec_fail_later "$UA registered through a symlink (exit $rc: $(cat "$T/err"))"
rc=0; ctl register "$A_HOME/logs" --pattern '*.log' 2>"$T/err" || rc=$?
[ "$rc" = 1 ] && grep -q symlink "$T/err" ||
	sec_fail_later "root registered through a symlink (exit $rc: $(cat "$T/err"))"

# 5. root registering B's directory gets a different id; B's stays B's
ID_B=$(as_b "$HKCTL" -s "$SOCK" register "$B_HOME/logs" --pattern '*.log' --max-files 50) ||
	fail "$UB: register its own directory"
ID_RB=$(ctl register "$B_HOME/logs" --pattern '*.log' --retention 30d) ||
	fail "root: register $B_HOME/logs"
[ "$ID_RB" != "$ID_B" ] ||
	sec_fail_later "root's register of $B_HOME/logs returned $UB's registration"
[ "$(reg_field "$ID_B" .owner_uid)" = "$(id -u $UB)" ] &&
	[ "$(reg_field "$ID_B" .max_files)" = 50 ] &&
	[ "$(reg_field "$ID_B" .retention)" = null ] ||
	sec_fail_later "root's register changed $UB's registration: $(ctl --json list |
		jq -c --arg id "$ID_B" '.[] | select(.id == $id)')"
# and B registering again still gets its own
ID_B2=$(as_b "$HKCTL" -s "$SOCK" register "$B_HOME/logs" --pattern '*.log' --max-files 50) ||
	sec_fail_later "$UB: register again"
[ "$ID_B2" = "$ID_B" ] || sec_fail_later "$UB's register again: $ID_B2, not $ID_B"

# 6. positive control: A's directory back, A re-registers: its own id,
# and its own expired files go
as_a rm "$A_HOME/logs" || fail "$UA: rm symlink"
as_a mv "$A_HOME/logs.real" "$A_HOME/logs" || fail "$UA: mv back"
as_a sh -c 'for i in 1 2 3; do echo a >"$1/a-$i.log"; touch -d "40 days ago" "$1/a-$i.log"; done' \
	sh "$A_HOME/logs" || fail "$UA: files"
ID_A2=$(as_a "$HKCTL" -s "$SOCK" register "$A_HOME/logs" --pattern '*.log' --retention 30d) ||
	sec_fail_later "$UA: re-register"
[ "$ID_A2" = "$ID_A" ] || sec_fail_later "$UA's re-register returned $ID_A2, not its own $ID_A"
as_a "$HKCTL" -s "$SOCK" run "$ID_A" >/dev/null 2>&1 || true
wait_until sec_nothing "$A_HOME/logs" -name 'a-*.log' ||
	sec_fail_later "$UA's own expired files were not deleted: $(names "$A_HOME/logs")"
sec_probe
sec_check "$ROOTDIR" "$T/root.snap"
sec_finish
