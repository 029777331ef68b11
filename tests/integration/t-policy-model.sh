#!/bin/sh
# Random trees against an independent model of the policies (SPEC 5):
# policy_model.py builds a tree and 1-4 overlapping registrations per seed,
# runs housekeeperd --once, and compares what is left with the model.
# HK_MODEL_SEED / HK_MODEL_SEEDS pick other seeds (default 1..300).
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null 2>&1 || skip "needs python3"
python3 "$top_srcdir/tests/integration/policy_model.py" "$HKD" "$T" \
	"${HK_MODEL_SEED:-1}" "${HK_MODEL_SEEDS:-300}" || fail "the daemon and the model disagree"
