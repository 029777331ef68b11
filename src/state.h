/*
 * state.h - the daemon's use of its state directory: opening the store with
 * clear errors and the move-aside option, settling the audit intents a
 * crash left open, recording jobs. (The store itself is store.c.)
 */
#ifndef HK_STATE_H
#define HK_STATE_H

#include <stdbool.h>

#include "reap.h"
#include "sched.h"
#include "store.h"

/* Open the store in state_dir. With reset, a store that cannot be used is
 * first moved aside (the daemon then rebuilds from the configuration and a
 * rescan; API registrations are lost with it). Errors are logged with
 * what to do. Returns 0 and *out, or the store's error code. */
int hk_state_open(const char *state_dir, bool reset, struct hk_store **out);

/* Open the store in state_dir read-only, beside a daemon that may be
 * running there (the preview of --once --dry-run): no lock is taken and
 * nothing is written. Returns 0 and *out; -ENOENT, logged at debug only,
 * when nothing is stored there yet (*out NULL: the preview goes on with
 * the configuration alone); another error is logged. */
int hk_state_open_read(const char *state_dir, struct hk_store **out);

/* A crash between an intent and its completion leaves the intent open: a
 * file that is gone was deleted (recorded as such), a file still there
 * was not (the intent is dropped). Commits the result. A file still under
 * the private name its intent recorded, with the recorded inode, was
 * renamed aside but not unlinked: its intent stays open and it is handed
 * back in *leftovers[0..*n_leftovers) (a new array, owned by the caller:
 * hk_engine_set_leftovers) for the engine to finish. */
void hk_state_settle_intents(struct hk_store *store, struct hk_reap_leftover **leftovers,
			     size_t *n_leftovers);

/* The leftovers of hk_state_settle_intents alone, with nothing settled or
 * written (a read-only store): the engine then keeps those names out of
 * its plans. */
void hk_state_find_leftovers(struct hk_store *store, struct hk_reap_leftover **leftovers,
			     size_t *n_leftovers);

/* Persist one ended job (a sched hook). */
void hk_state_record_job(struct hk_store *store, const struct hk_job_info *job);

#endif /* HK_STATE_H */
