/*
 * engine_int.h - private to the engine: the structs its files share and the
 * functions one of them calls in another. Nothing outside the engine
 * includes it; the public engine API is engine.h.
 *
 *   engine.c          registrations: create/free, priority order, config
 *                     apply, the engine's create/free
 *   engine_dirs.c     a registration's directory table: subdirectories
 *                     opened, watched, dropped; one file's index entry
 *   engine_scan.c     the root attached and detached, scans in slices
 *   engine_events.c   inotify events, overflows, the end of a batch, the
 *                     mount table
 *   engine_persist.c  index persistence: the store follows the index
 *   engine_enforce.c  runs and the event/timer deletion path
 *   engine_units.c    unit = directory: units aggregated and selected;
 *                     directories removed (a unit's, empty ones)
 *   engine_sweep.c    sweeps in slices, run reports
 *   engine_view.c     status, explain and registration lookups
 *   engine_guard.c    what no registration may touch (the daemon's own
 *                     files) and crash leftovers only a record lets it finish
 *   engine_paths.c    directory lookups and paths, the owner's identity
 *   engine_fail.c     failures to the daemon's hook
 *
 * Calls between them point down the list engine.c, engine_events.c,
 * engine_scan.c, engine_enforce.c, engine_units.c, engine_dirs.c, engine_persist.c,
 * engine_guard.c, engine_fail.c, engine_paths.c (engine_sweep.c and
 * engine_view.c call into it from above, and nothing below calls them).
 */
#ifndef HK_ENGINE_INT_H
#define HK_ENGINE_INT_H

#include <ev.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cred.h"
#include "engine.h"
#include "index.h"
#include "plan.h"
#include "policy.h"
#include "reap.h"
#include "util.h"

#define ENG_ROOT 0u
#define ENG_ANCESTOR UINT32_MAX
#define ENG_SCAN_SLICE 4096        /* directory entries per loop iteration at most, */
#define ENG_SCAN_SLICE_NS (4 * 1000 * 1000)   /* ... or fewer once this long (an entry is a
					       * statx and a lookup: 4096 took ~30 ms) */
#define ENG_SCAN_STEP 256          /* entries between two looks at the clock */
#define ENG_RESERVE_MIN 65536u     /* entries of a root below which nothing is reserved */
#define ENG_RESERVE_MAX (4u << 20) /* files reserved at most before a first scan */
#define ENG_CHANGED_RETRIES 64     /* re-evaluations of changed files per enforcement */
#define ENG_OVERFLOW_LOG_NS (60 * HK_NSEC_PER_SEC)   /* overflow notices at most this often */
#define ENG_FALLBACK_RESCAN 30.0   /* seconds between rescans of an unwatched registration */
#define ENG_ENFORCE_SLICE 2        /* ENG_REAP_BATCHes of files per enforcement slice:
				    * a few ms, then the loop reads events again */
#define ENG_ENFORCE_SLICE_NS (4 * 1000 * 1000)   /* ... or fewer once this long: one batch
						  * of a flat-out writer's files took ~50 ms */
#define ENG_RETRY_MIN 5.0          /* seconds before a failed deletion is retried */
#define ENG_RETRY_MAX 300.0
#define ENG_REFRESH_MAX 256        /* names waiting for their statx, at most */
#define ENG_YIELD_NS (1000 * 1000)   /* looks at the yield fd at most this often */
#define ENG_FD_RESERVE 128         /* fds never used for directories */
#define ENG_FD_SHARE_USER 4        /* a non-root owner's directories: at most 1/4 of
				    * the budget; */
#define ENG_FD_SHARE_USERS 2       /* all non-root owners': at most 1/2 (root keeps the
				    * rest) */
#define ENG_PENDING_FAILS 64
#define ENG_CLOCK_JUMP (INT64_C(3600) * HK_NSEC_PER_SEC)   /* a clock step this large pauses age */

struct eng_dir {
	char *name;          /* NULL for the root */
	uint32_t parent;
	int fd;              /* -1: free slot */
	int wd;              /* -1: not watched */
	uint64_t dev;
	uint64_t ino;
};

/* A file held out of the index after its deletion was put off: the
 * entry, and why (HK_REAP_LOCKED, HK_REAP_IN_USE or HK_REAP_FAILED), for
 * explain. */
struct eng_held {
	struct hk_entry *e;
	enum hk_reap_outcome outcome;
};

/* Deletions of a registration since its last summary line (engine_log.c). */
struct eng_tally {
	uint64_t files[HK_REASON_MAX + 1];   /* by reason (policy.h) */
	uint64_t n;
	uint64_t bytes;
};

struct eng_reg {
	struct hk_engine *eng;
	struct hk_registration *conf;     /* owned copy */
	struct hk_cred *cred;             /* the owner's identity for every filesystem
					   * access (cred.h); NULL: the daemon's own */
	struct hk_policy policy;
	struct hk_policy_trim trim;       /* a low_watermark trim under way */
	struct hk_index *index;
	struct eng_dir *dirs;
	size_t n_dirs;
	size_t open_dirs;                 /* of them open (fds and watches) */
	bool attached;                    /* root is open */
	bool root_mount;                  /* root is a mount point: protect aquota.* */
	uint64_t root_lock_dev;           /* its superblock device as /proc/locks names it (0: unknown) */
	uint64_t root_mnt_id;             /* the root's mount id (0: unknown): nothing on
					   * another mount is indexed or entered */
	int anc_fd;                       /* while detached: deepest existing ancestor */
	int anc_wd;
	bool scanned;                     /* a complete scan has built the index */
	bool scanning;                    /* a scan is in progress */
	bool dirty;                       /* events since the last enforcement */
	bool watch_failed;                /* no inotify watch: periodic rescans instead */
	bool rescan_pending;              /* another full scan once this one ends */
	bool free_active;                 /* below min_free, not yet at free_target
					   * (engine_free.c) */
	/* The store holds nothing of this index (a cold start): the first scan
	 * stores nothing, then a walk stores every entry in slices, so the
	 * index is ready for enforcement without waiting for LMDB. While the
	 * walk runs, entries it has not reached yet are written by it. */
	bool persist_cold;
	bool persist_walk;
	uint32_t persist_next;            /* the walk's next record id */
	ev_timer fallback_timer;          /* periodic rescans while watch_failed */
	/* files whose deletion failed or was refused by a lock: detached
	 * copies out of the index (the policy counts them as handled),
	 * retried with backoff; hk_entry_free what is not given back */
	struct eng_held *held;
	size_t n_held;
	size_t cap_held;
	ev_timer retry_timer;
	double retry_delay;
	/* sliced scan state */
	uint32_t *queue;
	size_t n_queue;
	size_t cap_queue;
	struct hk_dirscan *cur;
	uint32_t cur_dir;
	ev_timer age_timer;
	struct hk_sweep *sweep;           /* the sweep working on it, if any */
	/* counters since start */
	uint64_t files_deleted;
	uint64_t bytes_deleted;
	uint64_t delete_errors;
	uint64_t free_files_deleted;      /* of them for free space (min_free) */
	uint64_t free_bytes_deleted;
	uint64_t perm_refused;            /* kept: the owner may not delete them */
	int64_t last_run;
	uint64_t runs;                    /* sweeps completed */
	int64_t last_success;             /* epoch s of the last sweep without an error */
	/* growth measurement: gross bytes/files (kept + deleted) at t0 */
	int64_t rate_t0_ns;
	uint64_t rate_bytes0;
	uint64_t rate_files0;
	double growth_bytes;
	double growth_files;
	bool leftover_logged;             /* an unknown private name was logged */
	bool lease_logged;                /* skip_open: "no lease here" was logged */
	bool own_refused;                 /* the root is one of the daemon's own trees */
	int attach_err;                   /* why the root is not attached (-ENOENT: waiting for it) */
	bool waiting_logged;              /* "does not exist (yet)" said since it last existed */
	struct eng_tally tally[2];        /* [dry run]: deletions not yet in the log */
	int64_t tally_logged_ns;          /* monotonic time of its last summary line */
	uint32_t own_logged;              /* bit i: skipping eng->own[i] was logged */
	int64_t empty_due_ns;             /* remove_empty_dirs: when the next empty
					   * directory is old enough (INT64_MAX: none) */
};

/* One of the daemon's own files or trees (SPEC 7): never indexed, never
 * deleted. Known by the identity of the directory holding it plus its name
 * (so one that does not exist yet is covered too) and, for a tree, by its
 * own identity (so a registration rooted in it is refused). */
struct eng_own {
	const char *what;                 /* "state directory", ... (static) */
	char *path;                       /* absolute, as configured */
	char *real;                       /* realpath at the last update, or NULL */
	bool tree;                        /* a directory: it and all below */
	char *name;                       /* its name in its parent */
	bool have_parent;
	uint64_t pdev, pino;              /* the directory holding it */
	bool have_self;
	uint64_t dev, ino;                /* a tree's own identity */
};
#define ENG_OWN_MAX 8

struct eng_pending_fail {
	enum hk_failure cls;
	char reg_id[HK_UUID_LEN + 1];
	char *message;
};

struct eng_refresh {
	struct eng_reg *reg;       /* NULL: cancelled (registration gone) */
	uint32_t dir;
	char *name;
};

struct hk_engine {
	struct ev_loop *loop;
	const struct hk_config *cfg;
	struct hk_watch *watch;
	struct eng_reg **regs;            /* priority order */
	size_t n_regs;
	ev_idle scan_idle;
	ev_idle enforce_idle;             /* continues sliced mass deletions */
	ev_io mounts_io;                  /* the mount table changed */
	int mounts_fd;                    /* /proc/self/mountinfo */
	bool overflowed;
	int64_t overflow_logged_ns;       /* monotonic time of the last overflow notice */
	uint64_t overflows_unlogged;      /* overflows since that notice */
	struct hk_store *store;           /* borrowed; NULL: nothing persisted */
	struct hk_registration *const *api;   /* borrowed API registrations */
	int64_t clock_offset;             /* realtime - monotonic, the accepted baseline */
	bool clock_baseline_set;
	bool clock_paused;                /* a forward jump: no age decisions */
	size_t n_api;
	bool audit_failing;               /* intents cannot be written: no deletion */
	bool no_index_store;              /* the index is not persisted (benchmarks) */
	struct hk_reap_pool *reapers;     /* deletion threads (reap_pool.c) */
	struct hk_reap_wait yield;        /* whom long work serves (engine_yield.c; serve
					   * NULL: nobody) */
	int64_t yield_next_ns;            /* monotonic: the next look at the fd */
	unsigned yield_held;              /* > 0: the state is not whole, nobody is served */
	int64_t reap_file_ns;             /* one file's deletion, intents apart: a moving
					   * average that sizes the event path's batches */
	unsigned reap_threads;            /* ... counting the engine's own */
	size_t open_dirs;                 /* directory fds held by registrations */
	size_t fd_budget;                 /* ... at most; the rest stays for deletions,
					   * clients, the store, reports */
	size_t user_dirs_budget;          /* the smaller of fd_budget and the inotify watch
					   * limit: non-root owners get shares of it */
	struct eng_refresh *refresh;      /* names to statx at the end of the batch */
	size_t n_refresh;
	size_t cap_refresh;
	struct eng_pending_fail *pending_fails;   /* raised before the hook was set */
	size_t n_pending_fails;
	hk_failure_fn failure;
	void *failure_arg;
	struct hk_report *event_rep;      /* borrowed: event-path deletions go there */
	struct eng_own own[ENG_OWN_MAX];  /* the daemon's own files (engine_guard.c) */
	size_t n_own;
	char *own_socket;                 /* the control socket in use, when set */
	struct hk_reap_leftover *leftovers;   /* interrupted deletions to finish */
	size_t n_leftovers;
	ev_timer tally_timer;             /* logs the deletion summaries due (engine_log.c) */
	ev_timer free_timer;              /* the free-space check every ENG_FREE_PERIOD s,
					   * only while a registration has min_free */
	bool free_timer_init;
	bool free_pending;                /* a free-space deletion goes on in the next slice */
	bool tally_timer_init;
};

/* One deletion (or would-be deletion) recorded in a run, so that later
 * registrations in the same run see what the earlier ones left. */
struct eng_gone {
	uint64_t dir_dev;
	uint64_t dir_ino;
	uint64_t ino;
	size_t name_off;           /* in the run's gone_names */
};

/* One filesystem as a run's sweeps saw it (engine_free.c): its free space
 * when the first of them measured it, before the run deleted anything
 * there (a floor crossed then is crossed for every registration of the
 * run, as on the event path), and the bytes a dry run would have freed
 * there so far (so later registrations project what a real run measures). */
struct eng_run_freed {
	uint64_t dev;
	int64_t first_free;
	uint64_t bytes;
};

struct eng_run {
	bool dry_run;
	int64_t now_ns;
	bool age_allowed;
	struct hk_report *rep;            /* NULL on the event path */
	struct eng_gone *gone;
	size_t n_gone;
	size_t cap_gone;
	char *gone_names;                 /* their names, one after another: freed at once,
					   * not one by one (a million files of a run) */
	size_t gone_names_len, gone_names_cap;
	uint32_t *gone_set;               /* hash set of gone[] (index + 1, 0: empty; load
					   * <= 1/2): every file of a later registration is
					   * looked up, so a scan of gone[] made a dry run of
					   * two overlapping registrations quadratic (23 s at
					   * 200k files) */
	size_t gone_set_cap;              /* a power of two, or 0 */
	struct eng_run_freed *freed;      /* by filesystem, for min_free */
	size_t n_freed;
};

static inline const char *eng_gone_name(const struct eng_run *run, const struct eng_gone *g)
{
	return run->gone_names + g->name_off;
}

/* The gone set's hash of a file: its directory, inode and name (FNV-1a,
 * then a multiply-xorshift finish so that the low bits, the slot, depend
 * on all of it). */
static inline uint64_t eng_gone_hash(uint64_t dir_dev, uint64_t dir_ino, uint64_t ino,
				     const char *name)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325) ^ dir_dev ^ dir_ino * 31 ^ ino * 131;
	for (; *name; name++)
		h = (h ^ (unsigned char)*name) * UINT64_C(0x100000001b3);
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

#define ENG_REAP_BATCH 256     /* files per audit-intent commit, at most */
#define ENG_REAP_BATCH_MIN 32  /* ... and at least, on the event path (eng_batch_size) */
#define ENG_SUBDIR_CHUNK 64    /* files in subdirectories reaped after one check that
				* their directories are still in the tree: at most
				* this many can follow a directory moved out */
#define ENG_REAP_THREADS_MAX 8 /* deletion threads, the engine's own included */

/* A file set aside for deletion: detached from the index while its intent
 * is recorded and the deletion done. */
struct eng_pick {
	struct hk_entry *e;
	enum hk_reason why;
	uint64_t audit_id;
	char tmp[HK_REAP_TMP_SIZE];       /* its private name, recorded in the intent */
};

enum eng_sweep_phase {
	SWEEP_SCAN,
	SWEEP_COPY,     /* the index into the plan's snapshot, in slices */
	SWEEP_HEAP,     /* the snapshot made a heap, in slices */
	SWEEP_REAP,     /* popped oldest first as far as the policy selects */
	SWEEP_UNITS,    /* unit = directory: the units selected and deleted (one step) */
	SWEEP_DIRS,     /* remove_empty_dirs: the empty subdirectories removed */
	SWEEP_DONE,
};

/* A directory's identity when the sweep's snapshot saw it: a planned file
 * is reaped only if its directory is still that one. */
struct eng_dir_id {
	uint64_t dev;
	uint64_t ino;
};

struct hk_sweep {
	struct eng_reg *reg;
	struct eng_run *run;
	struct hk_report_reg *rr;
	enum eng_sweep_phase phase;
	struct hk_plan plan;          /* the snapshot (plan.h) */
	uint32_t copy_next;           /* hk_index_walk's cursor */
	struct eng_dir_id *dir_ids;   /* by directory id, as the snapshot saw them */
	size_t n_dir_ids;
	size_t popped;                /* files judged so far */
	struct hk_policy_trim trim;   /* a dry run's copy of the registration's */
	/* min_free (engine_free.c): the oldest go while the free space
	 * projected (measured before each batch, or for a dry run once, plus
	 * what the run would have freed) is below the target */
	bool free_measured;
	bool free_on;                 /* the floor was crossed when the reap began */
	bool free_deferred;           /* ... but a registration before it has candidates */
	uint64_t free_target;
	int64_t free_base;
	uint64_t free_planned;        /* bytes picked since free_base was measured */
};

/* engine_paths.c */
bool eng_as_owner(const struct eng_reg *reg, const struct hk_cred **prev);
void eng_as(const struct hk_cred *prev);
bool eng_dir_live(const struct eng_reg *reg, uint32_t id);
bool eng_dir_in_tree(struct eng_reg *reg, uint32_t id);
bool eng_dir_find(const struct eng_reg *reg, uint64_t dev, uint64_t ino, uint32_t *id);
void eng_dir_relpath(const struct eng_reg *reg, uint32_t id, struct hk_buf *b);
char *eng_file_path(const struct eng_reg *reg, uint32_t dir, const char *name);
char *eng_log_path(const struct eng_reg *reg, uint32_t dir, const char *name);
bool eng_entry_gone_in_run(const struct eng_reg *reg, const struct eng_run *run,
			   const struct hk_entry *e);
struct hk_report_file;
struct hk_report_file *eng_report_slot(struct eng_run *run);

/* engine_yield.c */
void eng_yield(struct hk_engine *eng);
const struct hk_reap_wait *eng_reap_wait(const struct hk_engine *eng);

/* engine_fail.c */
void eng_fail(struct hk_engine *eng, enum hk_failure cls, const char *reg_id,
	      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* engine_dirs.c */
void eng_dirs_opened(struct eng_reg *reg, int delta);
void eng_dir_unwatch(struct eng_reg *reg, uint32_t id);
void eng_dir_drop(struct eng_reg *reg, uint32_t id);
void eng_held_free(struct eng_reg *reg, uint32_t dir_only);
void eng_held_return(struct eng_reg *reg);
void eng_queue_scan(struct eng_reg *reg, uint32_t dir);
void eng_dir_watch(struct eng_reg *reg, uint32_t id);
void eng_subdir_found(struct eng_reg *reg, uint32_t parent, const char *name);
bool eng_name_matches(const struct hk_registration *conf, const char *name);
/* Is name in dir a file the registration indexes / a subdirectory it enters? */
bool eng_file_matches(const struct eng_reg *reg, uint32_t dir, const char *name);
bool eng_subdir_matches(const struct eng_reg *reg, uint32_t dir, const char *name);
void eng_file_refresh(struct eng_reg *reg, uint32_t dir, const char *name);

/* engine_scan.c */
size_t eng_scan_step(struct eng_reg *reg, size_t budget);
void eng_reg_rescan(struct eng_reg *reg);
void eng_scan_idle_cb(struct ev_loop *loop, ev_idle *w, int revents);
void eng_scan_kick(struct hk_engine *eng);
void eng_reg_set_ancestor(struct eng_reg *reg, int anc_fd);
void eng_reg_attach(struct eng_reg *reg);
void eng_reg_detach(struct eng_reg *reg);
bool eng_reg_identity_ok(struct eng_reg *reg);

/* engine_events.c */
struct hk_watch_ops;
extern const struct hk_watch_ops eng_watch_ops;
void eng_batch_end_cb(void *ctx);
void eng_enforce_idle_cb(struct ev_loop *loop, ev_idle *w, int revents);
void eng_mounts_open(struct hk_engine *eng);

/* engine.c */
struct eng_reg *eng_reg_find(const struct hk_engine *eng, const char *key);

/* engine_guard.c */
void eng_own_update(struct hk_engine *eng);
void eng_own_free(struct hk_engine *eng);
const struct eng_own *eng_own_entry(const struct eng_reg *reg, uint32_t dir, const char *name);
bool eng_own_skip(struct eng_reg *reg, uint32_t dir, const char *name);
bool eng_own_skip_subdir(struct eng_reg *reg, const char *name, uint64_t dev, uint64_t ino);
bool eng_own_refuse_root(struct eng_reg *reg, int fd);
bool eng_own_note(const struct hk_engine *eng, const char *path, char *note, size_t size);
struct hk_reap_leftover *eng_leftover_find(struct eng_reg *reg, uint32_t dir, const char *name);
void eng_leftover_done(struct eng_reg *reg, struct hk_reap_leftover *lo,
		       const struct hk_reap_result *res);

/* engine_persist.c */
void eng_store_del(struct eng_reg *reg, uint32_t dir, const char *name);
void eng_idx_set(struct eng_reg *reg, uint32_t dir, const char *name,
		 const struct hk_file_meta *meta);
void eng_idx_remove(struct eng_reg *reg, uint32_t dir, const char *name);
void eng_idx_remove_entry(struct eng_reg *reg, struct hk_entry *e);
void eng_store_forget(struct eng_reg *reg, uint32_t dir);
void eng_idx_clear(struct eng_reg *reg);
void eng_reg_warm_load(struct eng_reg *reg);
void eng_persist_walk_start(struct eng_reg *reg);
size_t eng_persist_walk_step(struct eng_reg *reg, size_t budget);
void eng_idx_attach(struct eng_reg *reg, struct hk_entry *e);

/* engine_enforce.c */
void eng_run_init(struct eng_run *run, struct hk_engine *eng, bool dry_run,
		  struct hk_report *rep);
void eng_run_fini(struct eng_run *run);
/* n is at most ENG_REAP_BATCH. */
long eng_reap_batch(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr,
		    struct eng_pick *picks, size_t n);
void eng_reg_purge_gone(struct eng_reg *reg, const struct eng_run *run, size_t from);
void eng_reg_enforce(struct eng_reg *reg, struct eng_run *run);
/* May the event/timer path delete in reg now (scanned, attached, no sweep)? */
bool eng_reg_event_path_ok(const struct eng_reg *reg);
bool eng_units_enforce(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr);
void eng_retry_cb(struct ev_loop *loop, ev_timer *w, int revents);
void eng_age_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);
void eng_reg_arm_age(struct eng_reg *reg);

/* engine_free.c: free space across registrations (SPEC 5: min_free) */
#define ENG_FREE_PERIOD 10.0       /* s between checks while some registration has min_free */
/* Free and total bytes of the filesystem of fd, as statvfs counts them for
 * an unprivileged writer (f_bavail, f_blocks, times f_frsize); -1 and 0
 * when unknown (total may be NULL). */
int64_t eng_fs_free(int fd, uint64_t *total);
/* The free-space view of reg on its filesystem at avail, changing nothing
 * (sweeps, explain): is its floor crossed (or does it still take part, as
 * the event path keeps it while another member is short), the largest
 * free_target among the crossed members, and whether a member before it
 * (a lower priority number) that takes part has candidates left that run
 * did not take (or is not ready): then its turn has not come. */
struct eng_free_view {
	bool crossed;
	uint64_t target;
	bool earlier_has;
	uint64_t earlier_bytes;   /* the indexed bytes of those before it */
};
void eng_free_view(const struct eng_reg *reg, const struct eng_run *run, int64_t avail,
		   uint64_t total, struct eng_free_view *v);
/* Check free space again in the next slice (a sweep ended: a deferred
 * turn, or the registrations waiting for it). */
void eng_free_recheck(struct hk_engine *eng);
/* reg's floor and target in bytes on a filesystem of total bytes (both 0
 * without min_free; the target is never below the floor). */
void eng_free_limits(const struct eng_reg *reg, uint64_t total, uint64_t *min_free,
		     uint64_t *target);
/* Event and timer path: on each filesystem whose free space is below the
 * floor of a registration, delete the oldest candidates of those
 * registrations, lowest priority number first, until every target is met. */
void eng_free_enforce(struct hk_engine *eng, struct eng_run *run);
/* The run's record of filesystem dev, created with first_free = avail
 * when the run had none. Borrowed until the next call or eng_run_fini. */
struct eng_run_freed *eng_run_fs(struct eng_run *run, uint64_t dev, int64_t avail);
/* Start or stop the periodic check as the registrations need it. */
void eng_free_arm(struct hk_engine *eng);
void eng_free_fini(struct hk_engine *eng);
/* engine_units.c: unit = directory, and directories removed */
/* One unit: a subdirectory directly in the root whose name matches. */
struct eng_unit {
	uint32_t dir;            /* its directory id (a child of the root) */
	int64_t key_ns;          /* its newest file's age key; without files its mtime */
	uint64_t bytes;          /* the sum of its files' sizes */
	size_t files;            /* its indexed files */
	enum hk_reason why;      /* selected by (eng_units_select), or NONE */
};
struct eng_units {
	struct eng_unit *u;      /* oldest first: age key, then name */
	size_t n;
};
/* A file of a unit, as the index knew it when listed. */
struct eng_unit_file {
	uint32_t dir;
	char *name;              /* owned */
	uint64_t ino;
};
/* The units of reg from its index (run: files earlier registrations of it
 * took are left out; may be NULL); eng_units_fini frees them. */
void eng_units_collect(struct eng_reg *reg, const struct eng_run *run, struct eng_units *us);
/* Set why of each unit the policy selects (SPEC 5 on units). */
void eng_units_select(const struct eng_reg *reg, const struct eng_run *run, struct eng_units *us);
void eng_units_fini(struct eng_units *us);
/* When the oldest unit expires (INT64_MAX: never). */
int64_t eng_units_next_expiry(struct eng_reg *reg);
/* The indexed files of unit (caller frees names and array). */
size_t eng_unit_files(const struct eng_reg *reg, uint32_t unit, struct eng_unit_file **out);
/* Remove the directories of unit bottom-up (after its files went); true
 * when the unit's directory is gone (or, dry, would be). */
bool eng_unit_remove_dirs(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr,
			  uint32_t unit, enum hk_reason why);
/* remove_empty_dirs: remove the empty subdirectories old enough; returns
 * when the next one will be (INT64_MAX: none known). */
int64_t eng_empty_dirs(struct eng_reg *reg, struct eng_run *run, struct hk_report_reg *rr);

/* engine_log.c: deletion summaries in the log */
/* The registration as log lines name it: its name, else its directory.
 * Borrowed for the registration's life. */
const char *eng_reg_label(const struct eng_reg *reg);
void eng_tally_add(struct eng_reg *reg, bool dry, enum hk_reason why, uint64_t size);
/* Log reg's tally now when its last line is a second old (or force),
 * else when the second is over (with a loop; without one, only force
 * logs: the end of its sweep). */
void eng_tally_flush(struct eng_reg *reg, bool force);
/* Log every tally and stop the timer (the engine stops). */
void eng_tally_fini(struct hk_engine *eng);

#endif /* HK_ENGINE_INT_H */
