#!/bin/bash
# Finding 10 of issue 14, reads for non-root callers (SPEC 9): a member of
# the control group reads audit records, explain results and run reports
# only of its own registrations ("nor tell them about files they could not
# read"). Found: such a user could `explain` files in root's 0700
# directories (size, mtime, delete time) and read every path in the audit
# trail and in reports, dry runs of root's registrations included.
#
# Root has a config registration and an API one, each on a 0700
# directory; user A has one on its own directory. Under
# housekeeper_dry_run every registration leaves dry-run audit records and
# files a dry run would list; A must see none of root's, and root still
# sees everything. Positive control: A sees its own (explain, audit, its
# dry-run report), and after housekeeper_dry_run is turned off its own
# expired files are deleted and it sees those records.
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
RCFG="$T/root-cfg"
RAPI="$T/root-api"
AD="$T/a-logs"
chmod 755 "$T"
mkdir -m 700 "$RCFG" "$RAPI"
mkdir -m 755 "$AD"
chown "$UA:" "$AD"
mkfiles "$RCFG" secret-cfg- 4
mkfiles "$RAPI" secret-api- 4
config() {
	cat <<EOC
[scheduler]
housekeeper_dry_run = $1

[daemon]
control_socket = $SOCK
control_group = hk-sec-ctl

[cleanup "root-secret"]
directory = $RCFG
pattern = *.log
max_files = 1
$(sec_canary_conf)
EOC
}
config yes | write_config
start_daemon
wait_until test -S "$SOCK" || fail "control socket not created"
ctl() { "$HKCTL" -s "$SOCK" "$@"; }
actl() { sec_as "$UA" "$CTLG" "$HKCTL" -s "$SOCK" "$@"; }
bctl() { sec_as "$UB" "$CTLG" "$HKCTL" -s "$SOCK" "$@"; }
# JSON $1 names a path under one of root's directories?
leaks_root() { printf '%s' "$1" | grep -q -e "$RCFG" -e "$RAPI"; }

ID_CFG=$(ctl --json list | jq -r '.[] | select(.name == "root-secret") | .id')
[ -n "$ID_CFG" ] || fail "config registration not listed"
ID_RAPI=$(ctl register "$RAPI" --pattern '*.log' --max-files 1) || fail "root: register $RAPI"
sec_as "$UA" "$CTLG" sh -c \
	'for i in 1 2 3; do echo a >"$1/a-$i.log"; touch -d "@$(($(date +%s) - 600 + i))" "$1/a-$i.log"; done' \
	sh "$AD" || fail "$UA: files"
ID_A=$(actl register "$AD" --pattern '*.log' --max-files 1) || fail "$UA: register $AD"
# every registration swept once (dry): audit records of all three
ctl run --dry-run >/dev/null || fail "root: dry run"
ctl --json audit --all >"$T/audit.root" || fail "root: audit"
for id in "$ID_CFG" "$ID_RAPI" "$ID_A"; do
	jq -e --arg id "$id" 'any(.[]; .registration_id == $id)' "$T/audit.root" >/dev/null ||
		fail "no audit record of $id to test with: $(head -c 600 "$T/audit.root")"
done

# explain: nothing of root's files, not even their size or delete time
for f in "$RCFG/secret-cfg-004.log" "$RAPI/secret-api-004.log"; do
	out=$(actl --json explain "$f") || sec_fail_later "$UA: explain $f failed"
	! leaks_root "$(printf '%s' "$out" | jq -c '.registrations')" &&
		printf '%s' "$out" | jq -e '(.registrations | length) == 0 and
			([.. | objects | has("size") or has("delete_at") or has("reason")] | any | not)' \
			>/dev/null ||
		sec_fail_later "$UA: explain $f shows root's registration: $out"
	out=$(actl explain "$f" 2>&1) || true
	! printf '%s' "$out" | grep -q -e 'deleted' -e 'matches' ||
		sec_fail_later "$UA: explain $f (human): $out"
	# root still sees everything
	ctl --json explain "$f" | jq -e '.registrations | length == 1 and .[0].indexed' >/dev/null ||
		sec_fail_later "root: explain $f: $(ctl --json explain "$f")"
done
actl --json explain "$AD/a-3.log" |
	jq -e --arg id "$ID_A" '.registrations | length == 1 and .[0].id == $id and .[0].matches' \
		>/dev/null || sec_fail_later "$UA: explain of its own file: $(actl --json explain "$AD/a-3.log")"

# audit: only its own records; another's id refused
out=$(actl --json audit --all) || sec_fail_later "$UA: audit failed"
! leaks_root "$out" && printf '%s' "$out" | jq -e --arg id "$ID_A" \
	'length >= 1 and all(.[]; .registration_id == $id)' >/dev/null ||
	sec_fail_later "$UA: audit shows records of others: $(printf '%s' "$out" | head -c 600)"
for id in "$ID_CFG" "$ID_RAPI"; do
	rc=0; out=$(actl --json audit --all --id "$id") || rc=$?
	[ "$rc" = 1 ] && ! leaks_root "$out" ||
		sec_fail_later "$UA: audit --id $id: exit $rc: $(printf '%s' "$out" | head -c 400)"
done
out=$(bctl --json audit --all) || sec_fail_later "$UB: audit failed"
[ "$out" = "[]" ] || sec_fail_later "$UB (no registration) sees audit records: $(printf '%s' "$out" | head -c 400)"

# run reports: another's registration refused, dry run included; a dry
# run of all covers only the caller's own
for id in "$ID_CFG" "$ID_RAPI"; do
	rc=0; out=$(actl --json run "$id" --dry-run) || rc=$?
	[ "$rc" = 1 ] && ! leaks_root "$out" ||
		sec_fail_later "$UA: run $id --dry-run: exit $rc: $(printf '%s' "$out" | head -c 400)"
done
out=$(actl --json run --dry-run) || sec_fail_later "$UA: run --dry-run failed"
! leaks_root "$out" && printf '%s' "$out" | jq -e --arg id "$ID_A" \
	'(.registrations | length == 1 and .[0].id == $id) and (.files | length == 2)' >/dev/null ||
	sec_fail_later "$UA: dry-run report of all: $(printf '%s' "$out" | head -c 600)"
out=$(bctl --json run --dry-run) || sec_fail_later "$UB: run --dry-run failed"
! leaks_root "$out" && printf '%s' "$out" | jq -e '(.registrations | length) == 0 and
	(.files | length) == 0' >/dev/null ||
	sec_fail_later "$UB: dry-run report of all: $(printf '%s' "$out" | head -c 600)"
ctl --json run --dry-run | jq -e '.registrations | length >= 3' >/dev/null ||
	sec_fail_later "root: a dry run of all does not cover all"
# jobs stay visible, without paths
out=$(actl --json jobs) || sec_fail_later "$UA: jobs failed"
! leaks_root "$out" || sec_fail_later "$UA: jobs show root's paths"

# positive control: for real now; A's own expired files go, and A sees
# the records of their deletion
config no >"$T/hk.conf"
ctl reload || fail "reload"
actl run "$ID_A" >/dev/null || sec_fail_later "$UA: run its own registration"
wait_until count_is "$AD" 1 || sec_fail_later "$UA's excess files not deleted: $(names "$AD")"
out=$(actl --json audit --all --id "$ID_A") || sec_fail_later "$UA: audit --id its own"
printf '%s' "$out" | jq -e 'any(.[]; .dry_run == false and .result == "deleted")' >/dev/null ||
	sec_fail_later "$UA: no record of its own deletions: $(printf '%s' "$out" | head -c 600)"
! leaks_root "$(actl --json audit --all)" || sec_fail_later "$UA: audit shows root's paths after the run"
sec_probe
sec_finish
