#!/bin/sh
# Random trees against an independent model of the policies (SPEC 5):
# policy_model.py builds a tree and 1-4 overlapping registrations per seed
# and compares what is left with the model: 300 seeds through
# housekeeperd --once, then 8 through a running daemon (its start-up
# enforcement, left to settle). As root, about a third of the seeds run
# on a tmpfs of their own with min_free / free_target on every
# registration (the "free space" section of the model): --once below the
# floors from the start, a running daemon above them until a filler
# outside every registration crosses them. A recursive registration of
# some seeds has remove_empty_dirs, over old empty directories.
# HK_MODEL_SEED / HK_MODEL_SEEDS /
# HK_MODEL_DAEMON_SEEDS pick other seeds.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
M="$top_srcdir/tests/integration/policy_model.py"
python3 "$M" "$HKD" "$T" "${HK_MODEL_SEED:-1}" "${HK_MODEL_SEEDS:-300}" ||
	fail "housekeeperd --once and the model disagree"
HK_MODEL_MODE=daemon python3 "$M" "$HKD" "$T" "${HK_MODEL_SEED:-1}" "${HK_MODEL_DAEMON_SEEDS:-8}" ||
	fail "the running daemon and the model disagree"
