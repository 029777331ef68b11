/*
 * engine.h - the reactive core: one runtime object per registration
 * (pinned root fd, directory table, index, timers), fed by inotify events,
 * enforcing count and size limits after every event batch, age limits on a
 * per-registration timer, and everything on sweeps (SPEC 5, 6, 7).
 */
#ifndef HK_ENGINE_H
#define HK_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "policy.h"
#include "reap.h"
#include "registration.h"
#include "report.h"

struct ev_loop;
struct hk_engine;

struct hk_store;

/* Failures the daemon notifies about (notify.h). */
enum hk_failure {
	HK_FAIL_DELETE,      /* a file could not be deleted */
	HK_FAIL_JOB,         /* a job failed */
	HK_FAIL_TIMEOUT,     /* a job ran past default_timeout */
	HK_FAIL_WATCH,       /* watch limit: a registration falls back to rescans */
	HK_FAIL_AUDIT,       /* the audit trail cannot be written: deletions stop */
	HK_FAIL_CLOCK,       /* the clock jumped forward: age limits paused */
	HK_FAIL__COUNT,
};
typedef void (*hk_failure_fn)(void *arg, enum hk_failure cls, const char *reg_id,
			      const char *message);

/* Create the engine. loop may be NULL for one-shot use (no inotify, no
 * timers, no event path: sweeps only). cfg is borrowed until the next
 * hk_engine_apply_config or hk_engine_free; store (may be NULL) is
 * borrowed until hk_engine_free: the index and the audit trail go there,
 * and a stored index is served at start until the first scan reconciles
 * it. */
/* flags: HK_ENGINE_NO_INDEX_STORE keeps the file index in memory only (a
 * restart then scans cold; audit, jobs and registrations are stored
 * either way) - for measuring what persistence costs. */
#define HK_ENGINE_NO_INDEX_STORE 0x1u
struct hk_engine *hk_engine_create(struct ev_loop *loop, const struct hk_config *cfg,
				   struct hk_store *store, unsigned flags);
void hk_engine_free(struct hk_engine *eng);

/* Switch to a new (valid) configuration: unchanged registrations keep their
 * watches and index, changed ones are updated in place or rebuilt, removed
 * ones stop at once, new ones are attached and scanned. */
void hk_engine_apply_config(struct hk_engine *eng, const struct hk_config *cfg);

/* Runs and sweeps: the job manager (sched.c) drives sweeps in slices.
 *
 * A run is what the sweeps of one job share: its dry-run flag, its clock
 * reading, its report, and the files deleted so far, so that each
 * registration (swept in priority order) applies to what the previous ones
 * left. */
struct hk_run;
/* rep is borrowed: the sweeps of the run add their files to it. */
struct hk_run *hk_run_create(struct hk_engine *eng, bool dry_run, struct hk_report *rep);
void hk_run_free(struct hk_run *run);
bool hk_run_age_allowed(const struct hk_run *run);

/* One registration's sweep: revalidate its root, rescan and reconcile,
 * select with the batch policy, delete (or, dry, check) in order. */
struct hk_sweep;
/* Start sweeping the registration with this id (or name). rr is filled as
 * the sweep goes (borrowed until hk_engine_sweep_free). Returns 0 and *out,
 * HK_ENOTFOUND, or HK_EBUSY when another sweep works on it. */
int hk_engine_sweep_start(struct hk_engine *eng, const char *reg_id, struct hk_run *run,
			  struct hk_report_reg *rr, struct hk_sweep **out);
/* Do up to budget units of work (directory entries read, files reaped).
 * Returns true when the sweep is finished. */
bool hk_engine_sweep_step(struct hk_sweep *sw, size_t budget);
/* End a sweep, finished or not (an unfinished one is recorded as stopped). */
void hk_engine_sweep_free(struct hk_sweep *sw);

/* Ids of the registrations matching filter (id or name; NULL = all), in
 * priority order. *ids is a new array owned by the caller. */
size_t hk_engine_reg_ids(const struct hk_engine *eng, const char *filter,
			 char (**ids)[HK_UUID_LEN + 1]);
/* Can two registrations cover the same file? (same directory, or one below
 * a recursive other) Two with min_free on one filesystem count as well:
 * what one deletes changes what the other must. */
bool hk_engine_regs_overlap(const struct hk_engine *eng, const char *id_a, const char *id_b);
/* The configuration in force (borrowed). */
const struct hk_config *hk_engine_config(const struct hk_engine *eng);

/* Switch to cfg plus the API registrations api[0..n_api) (both borrowed
 * until the next apply; the engine keeps copies of the registrations). */
void hk_engine_apply(struct hk_engine *eng, const struct hk_config *cfg,
		     struct hk_registration *const *api, size_t n_api);

/* Views for status, explain and metrics ------------------------------------ */

/* Registrations in priority order: count, and the i-th (borrowed until the
 * next apply). */
size_t hk_engine_count(const struct hk_engine *eng);
const struct hk_registration *hk_engine_registration(const struct hk_engine *eng, size_t i);

struct hk_reg_status {
	size_t files;
	uint64_t bytes;
	int64_t oldest_ns;          /* age key of the oldest file; 0 when empty */
	int64_t next_expiry_ns;     /* INT64_MAX: nothing will expire */
	int64_t last_run;           /* epoch seconds of the last sweep, 0 = never */
	uint64_t runs;              /* sweeps completed since start */
	int64_t last_success;       /* epoch seconds of the last sweep without error, 0 = never */
	uint64_t files_deleted;     /* since start */
	uint64_t bytes_deleted;
	uint64_t delete_errors;
	uint64_t free_files_deleted;   /* of files_deleted, for free space (min_free) */
	uint64_t free_bytes_deleted;   /* of bytes_deleted */
	bool attached;              /* the directory exists and is open */
	bool scanned;               /* the index is complete */
	bool watch_failed;          /* no inotify watch: enforced on sweeps only */
	struct hk_policy policy;    /* the effective limits */
	double growth_bytes;        /* bytes/s flowing in (kept + deleted), 0: unknown */
	double growth_files;        /* files/s */
	int64_t seconds_to_size;    /* at that rate, until max_size is reached; -1: n/a */
	int64_t seconds_to_files;   /* ... until max_files; -1: n/a */
	int64_t free_bytes;         /* min_free: free space of its filesystem now; -1: no
				     * min_free, or not attached */
	bool free_active;           /* min_free: below the floor, not back at free_target */
	bool trimming;              /* low_watermark: a trim under way */
};
/* Growth rates are measured between calls at least 10 s apart. */
void hk_engine_reg_status(struct hk_engine *eng, size_t i, struct hk_reg_status *st);
uint64_t hk_engine_overflows(const struct hk_engine *eng);
bool hk_engine_audit_failing(const struct hk_engine *eng);
/* Is the realtime clock's forward jump pausing every age decision (until a
 * reload accepts the new time)? */
bool hk_engine_age_paused(const struct hk_engine *eng);

/* One registration's view of a path. */
struct hk_explain {
	const struct hk_registration *reg;  /* borrowed until the next apply */
	bool covers;                /* the path lies where the registration looks */
	bool matches;               /* the name matches the pattern */
	bool excluded;              /* an exclude glob matches: never deleted */
	bool indexed;               /* the index knows the file */
	uint64_t size;
	int64_t key_ns;             /* its age key */
	size_t rank_newest;         /* 1 = the newest of its set */
	enum hk_reason reason;      /* selected now, and why; NONE: kept */
	int64_t delete_at_ns;       /* when it will be selected; INT64_MAX: not by age */
	bool held;                  /* its deletion was put off (locked, open, failed):
				     * out of the index until the retry */
	/* unit = directory: the unit the path is in (or is), judged whole;
	 * size, key_ns and rank_newest above are then the unit's */
	bool in_unit;
	char unit[256];             /* its name in the registered directory */
	size_t unit_files;          /* its indexed files */
	size_t n_units;             /* units with files in the registration */
	char note[256];
};
/* Explain path (absolute) against every registration: a new array of
 * hk_engine_count() entries, owned by the caller (free()). */
size_t hk_engine_explain(const struct hk_engine *eng, const char *path, int64_t now_ns,
			 struct hk_explain **out);

/* Where failures are reported (NULL: only logged). */
void hk_engine_set_failure_hook(struct hk_engine *eng, hk_failure_fn fn, void *arg);
/* The report that event-path deletions are added to (borrowed; NULL:
 * none). The daemon writes it out periodically. */
void hk_engine_set_event_report(struct hk_engine *eng, struct hk_report *rep);

/* Deletions a crash interrupted after the rename (hk_state_settle_intents):
 * the engine takes the array. A scan that meets one of those private names
 * with the recorded inode finishes it through hk_reap_file and completes
 * its audit intent; never in a dry run, read-only, or without a store (the
 * intent then stays open for a later start). Any other name with the
 * private prefix is left alone. */
void hk_engine_set_leftovers(struct hk_engine *eng, struct hk_reap_leftover *los, size_t n);
/* Whom the engine serves from inside long work (engine_yield.c): when
 * fd is readable at a safe point (between deletion batches, between the
 * files of a batch), serve(ctx) is called on the loop thread with the
 * daemon's identity; it must only read the engine's state. fd < 0:
 * nobody. */
void hk_engine_set_yield(struct hk_engine *eng, int fd, void (*serve)(void *ctx), void *ctx);
/* The control socket in use (path copied): like the state directory, the
 * reports and the metrics textfile, never indexed nor deleted. */
void hk_engine_set_socket(struct hk_engine *eng, const char *path);

/* Has every registration finished its scans, and every cold index been
 * written to the store? */
bool hk_engine_idle(const struct hk_engine *eng);
/* Store up to budget more entries of the cold indexes that are still being
 * written to the store after their first scan; true while some remain. At
 * shutdown, so that the next start is warm. */
bool hk_engine_persist_step(struct hk_engine *eng, size_t budget);

#endif /* HK_ENGINE_H */
