/*
 * store.h - the persistent state of the daemon (SPEC 8): registrations, the
 * per-registration file index, job history and the audit trail, in one LMDB
 * environment under the state directory. store.c and store_records.c
 * (with the private store_int.h) are the only files that include <lmdb.h>.
 *
 * On disk (state directory, created 0700, must be owned by the effective
 * uid and not writable by group or other; never reached through a symlink):
 *   store.mdb        the LMDB data file (MDB_NOSUBDIR), 0600
 *   store.mdb-lock   LMDB's reader table, 0600 (no data; safe to delete
 *                    while no process has the store open)
 *   housekeeper.lock flock(LOCK_EX) held while a store is open; holds the
 *                    pid of the holder as text, 0600
 *
 * Threading and processes: one thread; never fork after hk_store_open (an
 * LMDB rule); a second hk_store_open of the same directory, in this process
 * (the lock file is opened afresh, and flock is per open file description)
 * or in another, is refused with HK_EBUSY.
 *
 * Writes are queued in memory and committed together in ONE write
 * transaction by hk_store_flush(). Reads (loads, queries) see committed
 * data only: flush first when a read must see queued writes. Times are
 * never read from a clock here: every time comes in as an argument.
 *
 * Errors: 0 on success, -errno for a system failure (the data file, the
 * lock, the disk), HK_ESTORE for a corrupt, foreign, newer or otherwise
 * unusable store, HK_EBUSY when another process holds the state directory.
 * Functions that take `char **cause` (may be NULL) set it on failure only,
 * to a new string owned by the caller that names the file and the fault.
 */
#ifndef HK_STORE_H
#define HK_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registration.h"

struct hk_store;

/* The schema this build writes and reads. A store with a greater version is
 * refused (HK_ESTORE). */
#define HK_STORE_SCHEMA 1u

#define HK_STORE_DATA_FILE "store.mdb"
#define HK_STORE_LOCK_FILE "housekeeper.lock"

/* Defaults of struct hk_store_options. */
#define HK_STORE_MAP_SIZE_DEFAULT (UINT64_C(64) << 20)   /* 64 MiB, doubled on demand */
#define HK_STORE_MAP_SIZE_MAX (UINT64_C(1) << 40)        /* 1 TiB */
#define HK_STORE_QUEUE_MAX 262144u                        /* queued writes */

struct hk_store_options {
	uint64_t map_size;        /* initial map size in bytes; 0 = default. The
				     map doubles on MDB_MAP_FULL, up to max_map_size */
	uint64_t max_map_size;    /* 0 = HK_STORE_MAP_SIZE_MAX; reaching it makes
				     flush fail with -ENOSPC */
	size_t queue_max;         /* 0 = HK_STORE_QUEUE_MAX; see hk_store_index_put */
	uint32_t schema_version;  /* 0 = HK_STORE_SCHEMA. Tests only: pretend to be
				     a build with this schema */
	bool read_only;           /* read beside a running daemon (the preview of
				     --once --dry-run): no directory lock, nothing
				     created or written (LMDB read-only; a reader
				     slot when the reader table exists); no store
				     yet, or an empty one, is -ENOENT; hk_store_flush
				     with queued writes is -EROFS */
};

/* Open (creating when missing) the store in state_dir, an absolute path.
 * The directory is created 0700 when missing (its parent must exist); an
 * existing one must be a real directory (not a symlink), owned by the
 * effective uid and not writable by group or other. opts may be NULL.
 * now_ns (epoch ns) is recorded as the creation time of a new store.
 * Before LMDB maps the data file, its two meta pages are read and checked
 * (magic, format version, page size, and that the file covers every page
 * the newer meta page uses), so a truncated or garbage file gives an error
 * instead of SIGBUS. Stale reader slots of dead processes are cleared.
 * Returns 0 and *out (free with hk_store_close), or:
 *   HK_EBUSY   another process (or handle) holds the directory; *cause names
 *              the directory and the holder's pid;
 *   HK_ESTORE  data file truncated, garbage, not a housekeeper store, schema
 *              newer than HK_STORE_SCHEMA, mdb_env_open failed; *cause names
 *              the file. hk_store_move_aside() then lets the daemon start
 *              fresh;
 *   -errno     directory cannot be created/opened, is a symlink (-ELOOP),
 *              not a directory, has unsafe owner/mode (-EPERM), ...
 * On failure *out is NULL and nothing is left open. */
int hk_store_open(const char *state_dir, const struct hk_store_options *opts, int64_t now_ns,
		  struct hk_store **out, char **cause);

/* Close the store and release the directory lock. Writes still queued are
 * discarded (logged with their count): call hk_store_flush() first for a
 * graceful stop. NULL is a no-op. */
void hk_store_close(struct hk_store *store);

/* Rename state_dir/store.mdb to state_dir/store.mdb.corrupt-<now_s> (a
 * ".N" suffix is added if that exists) and delete store.mdb-lock, so that
 * the next hk_store_open starts an empty store (--reset-state). Takes the
 * directory lock: HK_EBUSY while a store is open there. Returns 0 and
 * *new_name (the new absolute path, owned by the caller; may be NULL), or
 * -ENOENT when there is no data file, or another -errno; *cause as above. */
int hk_store_move_aside(const char *state_dir, int64_t now_s, char **new_name, char **cause);

/* Identity of the store (a random UUID made at creation, 36 chars) and its
 * creation time (epoch ns). Borrowed until hk_store_close. */
const char *hk_store_uuid(const struct hk_store *store);
int64_t hk_store_created_ns(const struct hk_store *store);

/* Batching ------------------------------------------------------------------ */

/* Commit every queued write in one write transaction. On MDB_MAP_FULL the
 * transaction is aborted, the map doubled and the same batch retried. On
 * any other failure nothing of the batch is committed, the queue is kept
 * for the next call, and the store turns unhealthy until a flush succeeds.
 * Returns 0 (also with an empty queue: no transaction then), -errno
 * (-ENOSPC when the map cannot grow further, -EIO, -EROFS, ...), or
 * HK_ESTORE for an LMDB fault (corruption). Call it once per loop
 * iteration, and before hk_store_close. */
int hk_store_flush(struct hk_store *store);

/* What a failing store does to the queue: every write stays queued until a
 * commit succeeds. Index writes are the bulk and the only ones that may be
 * lost: at queue_max queued writes they are dropped (see
 * hk_store_index_put). Audit completions/drops, job and registration writes
 * are always queued (their number is bounded: intents, the source of
 * completions, cannot be committed while the store fails); new dry-run
 * audit records are refused at queue_max (hk_store_audit_add). Flushing a
 * failing store retries the commit on every call; the failure is logged
 * once, and its recovery once. */

/* Number of queued writes (an index write replaced by a later one of the
 * same path counts once). */
size_t hk_store_pending(const struct hk_store *store);

/* Give back the memory a burst of writes left behind: LMDB keeps a copy of
 * every page a write transaction dirtied for the life of the environment,
 * so after a large commit (a scan) the environment is closed and reopened,
 * and the queue's arena is unmapped. hk_store_trim_due says whether a
 * commit of at least a few hundred writes happened since the last trim;
 * call hk_store_trim once such a burst is over (it costs an open of the
 * environment; it does nothing while writes are queued or when not due).
 * Returns 0, or the error of the reopen: the store is then unhealthy and
 * the next call that needs the environment tries to open it again. */
bool hk_store_trim_due(const struct hk_store *store);
int hk_store_trim(struct hk_store *store);

/* Did the last commit succeed? (true until one fails) */
bool hk_store_healthy(const struct hk_store *store);

/* The error of the last commit (0 if it succeeded) and, when text is not
 * NULL, its description (NULL after a success), borrowed until the next
 * call on the store. For status and metrics. */
int hk_store_last_error(const struct hk_store *store, const char **text);

/* Current map size in bytes. */
uint64_t hk_store_map_size(const struct hk_store *store);

/* Registrations -------------------------------------------------------------- */

/* Queue a put (insert or replace, by reg->id) of every field of reg,
 * schedule_cron included. reg is copied. -EINVAL when reg->id is not 36
 * bytes. */
int hk_store_reg_put(struct hk_store *store, const struct hk_registration *reg);
/* Queue the removal of registration id (not an error when absent). Its
 * index entries are not touched: see hk_store_index_drop. */
int hk_store_reg_delete(struct hk_store *store, const char *id);
/* Load every committed registration, ordered by id. Returns 0 and a new
 * array *regs (free each with hk_registration_free, then the array with
 * free(); NULL when *n is 0), or an error (HK_ESTORE for a record this
 * build cannot decode; nothing is returned then). */
int hk_store_reg_load_all(struct hk_store *store, struct hk_registration ***regs, size_t *n);

/* File index ------------------------------------------------------------------ */

/* What the index keeps of a file. */
struct hk_store_file {
	uint64_t ino;
	uint64_t size;
	int64_t mtime_ns;
	int64_t key_ns;
};

/* Queue the put/delete of the entry of reg_id (36 bytes) for relpath: the
 * path relative to the registered root ("name" or "sub/dir/name"), raw
 * bytes, rel_len long (1..4096, no NUL). Paths too long for an LMDB key
 * are keyed by a prefix and a 128-bit hash of the whole path, and kept
 * whole in the value. Returns 0, -EINVAL for a bad id or path, or -ENOBUFS
 * when the write was dropped: when the queue holds queue_max writes (the
 * store has been failing), every queued index write is discarded, the
 * whole index is queued for clearing and the store is marked "index lost"
 * (hk_store_index_lost); index writes are then dropped until
 * hk_store_index_resume. Audit, job and registration writes are never
 * dropped. */
int hk_store_index_put(struct hk_store *store, const char *reg_id, const char *relpath,
		       size_t rel_len, const struct hk_store_file *file);
int hk_store_index_delete(struct hk_store *store, const char *reg_id, const char *relpath,
			  size_t rel_len);
/* Queue the removal of every index entry of reg_id (one transaction, O(n)
 * in its entries). Dropped like puts while the index is lost. */
int hk_store_index_drop(struct hk_store *store, const char *reg_id);
/* Call cb for every committed entry of reg_id, in key order (byte order of
 * relpath for paths that fit a key). relpath (rel_len bytes, also
 * NUL-terminated) and file are borrowed for the duration of the call. cb
 * returns 0 to go on, anything else to stop (that value is returned). cb
 * may queue writes but must call no other store function. Returns 0, cb's
 * value, or an error. */
int hk_store_index_load(struct hk_store *store, const char *reg_id,
			int (*cb)(const char *relpath, size_t rel_len,
				  const struct hk_store_file *file, void *arg),
			void *arg);
/* True after index writes were dropped (see hk_store_index_put): the stored
 * index is empty or partial until every registration was rescanned. */
bool hk_store_index_lost(const struct hk_store *store);
/* Accept index writes again (call before the rescans that rebuild it). */
void hk_store_index_resume(struct hk_store *store);

/* Jobs ------------------------------------------------------------------------ */

struct hk_store_job {
	uint64_t id;             /* assigned by the caller, increasing with time */
	const char *kind;        /* "sweep", "manual", ... */
	const char *trigger;     /* "schedule", "manual", "once", ... */
	const char *reg_id;      /* NULL = all registrations */
	int64_t start_ns;
	int64_t end_ns;          /* 0 while running */
	const char *outcome;     /* "ok", "failed", "timeout", ... */
	uint64_t scanned;
	uint64_t deleted;
	uint64_t bytes;
	uint64_t errors;
	bool dry_run;
};

/* Queue a put (insert or replace by id) of job; the strings are copied and
 * may be NULL. */
int hk_store_job_put(struct hk_store *store, const struct hk_store_job *job);
/* The greatest committed job id at open (0 for none): continue from it. */
uint64_t hk_store_job_last_id(const struct hk_store *store);
/* Call cb for committed jobs, newest (greatest id) first, at most limit of
 * them (0 = all). The record and its strings are borrowed for the duration
 * of the call; cb returns 0 to go on, else stops with that value. Same cb
 * rules as hk_store_index_load. */
int hk_store_job_list(struct hk_store *store, size_t limit,
		      int (*cb)(const struct hk_store_job *job, void *arg), void *arg);

/* Audit trail ----------------------------------------------------------------- */

enum hk_store_audit_state {
	HK_STORE_AUDIT_INTENT = 1,   /* about to delete; no result yet */
	HK_STORE_AUDIT_DONE = 2,     /* deleted (or, with dry_run, would be) */
};

struct hk_store_audit {
	uint64_t id;             /* set by the store: unique, increasing, >= time_ns */
	int64_t time_ns;         /* when it was decided (epoch ns) */
	const char *reg_id;      /* 36 bytes */
	const char *path;        /* absolute path, raw bytes (any but NUL) */
	size_t path_len;
	uint64_t size;
	int64_t mtime_ns;
	const char *reason;      /* "age", "count", "size", ... */
	bool dry_run;
	enum hk_store_audit_state state;
	const char *outcome;     /* DONE: e.g. "deleted"; NULL while INTENT */
	int err;                 /* 0, or -errno noted with the outcome */
	uint64_t ino;            /* the inode decided on; 0: not recorded (older records) */
	/* INTENT: the private name (in the directory of path) the file is
	 * renamed to right before its unlink, so that a crash in between
	 * leaves a name provably ours; NULL: none recorded. Not kept once
	 * the intent is completed. */
	const char *aside;
};

/*
 * The intent protocol (no deletion without a record):
 *   1. hk_store_audit_intent() for the files about to be deleted: commits
 *      the queue and the intents in one synchronous transaction. Unlink
 *      nothing unless it returned 0 (fail closed).
 *   2. Per file: deleted (unlinkat succeeded) -> hk_store_audit_complete();
 *      not deleted (changed, locked, refused, failed, already gone) ->
 *      hk_store_audit_drop(), which removes the record. Both are queued.
 *   3. At start, hk_store_audit_open_intents() lists intents a crash left:
 *      the file is gone -> complete (e.g. outcome "deleted-unconfirmed");
 *      still there -> drop; still under its private name (aside) with the
 *      recorded inode -> kept open until that unlink is finished
 *      (state.c, engine_guard.c), then complete.
 * So the committed trail holds exactly one DONE record per deleted file,
 * and none for a file that was not deleted, once every intent is settled.
 */

/* Commit intent records for recs[0..n) (state, outcome, err and id of recs
 * are ignored; dry_run must be false) together with the queued writes, in
 * one synchronous transaction. Returns 0 and ids_out[0..n), or an error
 * from the commit (the intents are then not recorded, the queue is kept)
 * or -EINVAL for a bad record (nothing committed). */
int hk_store_audit_intent(struct hk_store *store, const struct hk_store_audit *recs, size_t n,
			  uint64_t *ids_out);
/* Queue the completion of intent id: state DONE with outcome (copied) and
 * err. An id that is no longer an intent when the queue is committed is
 * skipped (logged). */
int hk_store_audit_complete(struct hk_store *store, uint64_t id, const char *outcome, int err);
/* Queue the removal of intent id (the file was not deleted). */
int hk_store_audit_drop(struct hk_store *store, uint64_t id);
/* Queue a DONE record directly (dry runs: rec->dry_run true; also usable
 * for deletions recorded after the fact). Returns 0, -EINVAL, or -ENOBUFS
 * when the queue is full (store failing): the record is then not kept and
 * the caller must count it as an error. The id is assigned when queued. */
int hk_store_audit_add(struct hk_store *store, const struct hk_store_audit *rec,
		       uint64_t *id_out);
/* Call cb for every committed intent (oldest first). The record is borrowed
 * for the duration of the call; cb may queue complete/drop. */
int hk_store_audit_open_intents(struct hk_store *store,
				int (*cb)(const struct hk_store_audit *rec, void *arg), void *arg);

struct hk_store_audit_query {
	int64_t since_ns;        /* records with time_ns >= since_ns (0 = all) */
	const char *reg_id;      /* NULL = every registration */
	bool newest_first;       /* default oldest first */
	bool with_intents;       /* also unsettled intents */
	size_t limit;            /* 0 = no limit */
};
/* Call cb for the committed audit records matching q (NULL = all DONE
 * records, oldest first), in id order. Borrowing and cb rules as for
 * hk_store_job_list. */
int hk_store_audit_list(struct hk_store *store, const struct hk_store_audit_query *q,
			int (*cb)(const struct hk_store_audit *rec, void *arg), void *arg);

/* One page of the audit trail, for queries that must stay bounded (the
 * control socket's audit): oldest first, from a position, at most
 * q->limit records handed to cb and at most max_visit records looked at,
 * so one request's work does not grow with the trail. */
struct hk_store_audit_page {
	uint64_t from_id;        /* first audit id to look at (0: the start;
				    q->since_ns applies as well) */
	size_t max_visit;        /* records looked at, at most (0: no bound) */
	/* Another filter besides q (redaction): NULL = none; false = skip
	 * rec. Same rules as cb; it must not touch the store. */
	bool (*keep)(const struct hk_store_audit *rec, void *arg);
	void *keep_arg;
	/* out: the id to pass as from_id for the next page, 0 when the scan
	 * reached the end of the trail (no record matching after the page) */
	uint64_t next_id;
	size_t taken;            /* out: records cb took */
	size_t visited;          /* out: records looked at */
};
/* cb's answer for "page full, this record not taken": the page ends
 * before rec, and next_id is rec's id. */
#define HK_STORE_PAGE_FULL 1
/* Call cb, in id order (oldest first), for the committed records matching
 * q (NULL: every DONE record) and page->keep with id >= page->from_id,
 * until q->limit were taken (0 = no limit), max_visit records were looked
 * at, cb returned HK_STORE_PAGE_FULL, or the trail ends. After the
 * limit, the scan goes on (within max_visit) only to find where the next
 * page starts, so that next_id is 0 when nothing matching follows. A
 * record that is still an intent when a page passes it is not shown again
 * once completed (q->with_intents shows intents). q->newest_first is
 * refused (-EINVAL). cb returns 0 (taken), HK_STORE_PAGE_FULL, or another
 * value that stops the scan and is returned. Borrowing as for
 * hk_store_audit_list. Returns 0, cb's value, or an error. */
int hk_store_audit_page(struct hk_store *store, const struct hk_store_audit_query *q,
			struct hk_store_audit_page *page,
			int (*cb)(const struct hk_store_audit *rec, void *arg), void *arg);

/* Retention ------------------------------------------------------------------- */

/* Delete job records that ended (or, running, started) before before_ns and
 * audit records with id < before_ns (so time_ns < before_ns), oldest first,
 * at most budget records in all (0 = no limit), together with the queued
 * writes in one transaction. Unsettled intents are never pruned. *more is
 * set to whether old records remain. Job ids are assumed to increase with
 * time: the job scan stops at the first job that is not old. */
int hk_store_prune(struct hk_store *store, int64_t before_ns, size_t budget, bool *more);

#endif /* HK_STORE_H */
