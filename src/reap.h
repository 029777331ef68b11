/*
 * reap.h - the one code path that deletes a file (SPEC 7, SAFETY.md
 * checklist). Every deletion, whatever triggered it, goes through
 * hk_reap_file.
 */
#ifndef HK_REAP_H
#define HK_REAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scan.h"

struct hk_cred;
struct hk_locks;

/* What the caller decided on: the file as the index knows it. */
struct hk_reap_expect {
	uint64_t dev;        /* device of the registered root */
	uint64_t mnt_id;     /* ... and its mount id (0: unknown), hk_stat_on_mount */
	uint64_t lock_dev;   /* its superblock device as /proc/locks names it (0: unknown) */
	uint64_t ino;
	uint64_t size;
	int64_t mtime_ns;
	bool dir_is_mount_root;  /* protects aquota.* */
	/* the age key decided on (hk_entry_key) and the registration's age_by
	 * (HK_AGE_* bits): where they count atime or ctime, a file whose key
	 * is newer now (read since) is kept as changed; age_by 0: no check */
	unsigned age_by;
	int64_t key_ns;
	/* the private name to rename the file to before the unlink, as its
	 * audit intent recorded it (borrowed for the call); NULL: a fresh one */
	const char *tmp_name;
	/* skip_open: kept (HK_REAP_IN_USE) unless a write lease on the file can
	 * be taken, which the kernel grants only while no other open file
	 * description of it exists (reap.c) */
	bool skip_open;
};

/* The private name a file carries for the instant between its last check
 * and its unlink (reap.c); the engine ignores events on such names and
 * finishes one only when an audit intent names it (a crash in between). */
#define HK_REAP_TMP_PREFIX ".housekeeper-deleting-"
#define HK_REAP_TMP_SIZE 40   /* the prefix, 16 hex digits and a NUL */

/* Draw a fresh, unguessable private name into out. */
void hk_reap_tmp_name(char out[HK_REAP_TMP_SIZE]);

/* A deletion a crash interrupted between the rename and the unlink: the
 * file still under the private name its open audit intent recorded, with
 * the inode, size and mtime decided on (state.c finds them at start, the
 * engine finishes them through hk_reap_file). */
struct hk_reap_leftover {
	uint64_t audit_id;
	char *path;          /* absolute path of the private name (owned) */
	uint64_t ino;
	uint64_t size;
	int64_t mtime_ns;
};
void hk_reap_leftovers_free(struct hk_reap_leftover *los, size_t n);

enum hk_reap_outcome {
	HK_REAP_DELETED,      /* unlinked */
	HK_REAP_WOULD_DELETE, /* dry run: every check passed, nothing touched */
	HK_REAP_GONE,         /* already gone (ENOENT): not an error */
	HK_REAP_CHANGED,      /* inode, size, mtime or age key differ: re-evaluate */
	HK_REAP_LOCKED,       /* held under a lock by someone: kept on purpose */
	HK_REAP_IN_USE,       /* skip_open: someone has it open (err 0), or no lease
			       * could be taken to tell (err: why, -EINVAL etc.) */
	HK_REAP_REFUSED,      /* not a regular file, mount point, other device,
			       * aquota.* at a mount root: never deleted */
	HK_REAP_FAILED,       /* an error: res->err is -errno */
};
const char *hk_reap_outcome_name(enum hk_reap_outcome o);

struct hk_reap_result {
	enum hk_reap_outcome outcome;
	int err;              /* -errno for FAILED (and why REFUSED/CHANGED when known) */
	struct hk_stat st;    /* fresh metadata when it could be read */
};

/* Delete dir_fd/name if, right now, it is still the regular file the caller
 * decided on, on the expected device, not a mount point, and not locked.
 * locks is the lock set read for the batch (hk_locks_read, borrowed);
 * NULL: each file is opened and its locks probed instead (reap.c). With
 * dry_run, run every check but rename, open for writing and unlink
 * nothing. Never follows a symlink; never blocks. res->st is the fresh
 * metadata when a statx was made (not for LOCKED by the lock set). */
void hk_reap_file(int dir_fd, const char *name, const struct hk_reap_expect *exp,
		  const struct hk_locks *locks, bool dry_run, struct hk_reap_result *res);

/* A batch of deletions run on several threads (reap_pool.c). Each job is
 * one hk_reap_file call; the results are in res when hk_reap_many
 * returns. The caller's thread takes part (and, given a struct
 * hk_reap_wait, serves its fd between two of its jobs); nothing but the
 * jobs' syscalls runs on the others. */
struct hk_reap_job {
	int dir_fd;
	const char *name;
	struct hk_reap_expect exp;
	struct hk_reap_result res;
};
struct hk_reap_pool;
/* While a batch is deleted, the caller looks at fd between two of its
 * jobs (at most every millisecond) and, when it is readable, calls
 * serve(ctx), with its own identity (not the owner's of the jobs). */
struct hk_reap_wait {
	int fd;
	void (*serve)(void *ctx);
	void *ctx;
};

/* threads counts the caller: 1 (or a NULL pool) reaps on the caller alone. */
struct hk_reap_pool *hk_reap_pool_new(unsigned threads);
/* Every job runs with the filesystem identity cred (NULL: the daemon's
 * own) on whichever thread takes it (cred.h); when the caller cannot take
 * that identity, every job fails with its error and nothing is touched.
 * locks: the batch's lock set, as for hk_reap_file (borrowed for the
 * call). wait: NULL, or what the caller serves meanwhile. */
void hk_reap_many(struct hk_reap_pool *pool, struct hk_reap_job *jobs, size_t n,
		  const struct hk_locks *locks, bool dry_run, const struct hk_cred *cred,
		  const struct hk_reap_wait *wait);
void hk_reap_pool_free(struct hk_reap_pool *pool);

#endif /* HK_REAP_H */
