/*
 * store.c - the LMDB state store (SPEC 8): the environment and its
 * transactions. With store_queue.c (the write queue), store_records.c
 * (the record kinds' operations), store_codec.c (their encoding) and
 * store_check.c (the data file's check before it is opened), the only
 * files that include <lmdb.h>; store_int.h holds what they share. The
 * state directory itself (checks, lock, pid file, move-aside) is
 * store_dir.c.
 *
 * Owns: one LMDB environment on <state>/store.mdb (MDB_NOSUBDIR, default
 * durability: every commit is synced); it commits the queue of writes
 * (store_queue.c) in one transaction. The named databases and their
 * record formats are described in store_records.c.
 *
 * Invariants:
 *  - a queued write leaves the queue only when the transaction holding it
 *    committed, or when a later index write of the same key replaces it;
 *    only index writes are ever dropped (hk_store_index_put);
 *  - no transaction outlives a public call; mdb_env_set_mapsize is only
 *    called with no transaction open.
 */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lmdb.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

#define STORE_MAX_RETRIES 64      /* map growths / resizes per commit */
#define STORE_TRIM_WRITES 256     /* a commit this large makes hk_store_trim due */

static const char *const store_db_names[STORE_DB_COUNT] = {
	[STORE_DB_META] = "meta",
	[STORE_DB_REGS] = "regs",
	[STORE_DB_INDEX] = "index",
	[STORE_DB_JOBS] = "jobs",
	[STORE_DB_AUDIT] = "audit",
	[STORE_DB_PENDING] = "pending",
};

/* Errors -------------------------------------------------------------------- */

static bool store_is_mdb_code(int rc)
{
	return rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE;
}

/* Our error code for an LMDB or work-function return value. */
int store_code(int rc)
{
	if (rc > 0)
		return -rc;
	if (store_is_mdb_code(rc))
		return HK_ESTORE;
	return rc;
}

static const char *store_text(int rc)
{
	if (rc > 0 || store_is_mdb_code(rc))
		return mdb_strerror(rc);
	return hk_strerror(rc);
}

static void store_set_health(struct hk_store *s, int rc)
{
	free(s->last_text);
	hk_buf_fini(&s->scratch);
	s->last_text = NULL;
	s->last_err = rc ? store_code(rc) : 0;
	if (rc)
		s->last_text = hk_xstrdup(store_text(rc));
}


/* The environment ----------------------------------------------------------- */

/* Create and open the LMDB environment on the data file; s->env stays
 * NULL on failure. Returns an LMDB or system error code. */
static int store_env_open(struct hk_store *s)
{
	int rc = mdb_env_create(&s->env);

	if (rc == 0)
		rc = mdb_env_set_maxdbs(s->env, STORE_DB_COUNT + 2);
	if (rc == 0)
		rc = mdb_env_set_mapsize(s->env, (size_t)s->map_size);
	if (rc == 0)
		rc = mdb_env_open(s->env, s->data_path,
				  MDB_NOSUBDIR | (s->read_only ? MDB_RDONLY : 0) |
				  (s->no_lock ? MDB_NOLOCK : 0), 0600);
	if (rc && s->env) {
		mdb_env_close(s->env);
		s->env = NULL;
	}
	return rc;
}

/* LMDB's dirty page list, calloc'd by every mdb_env_open of a writable
 * environment: MDB_IDL_UM_SIZE (2^17) entries of 16 bytes. */
#define STORE_LMDB_DIRTY_LIST ((size_t)2 << 20)
#define STORE_HOLD_MAX 16

/*
 * Close and reopen the environment (no transaction may be open). LMDB
 * keeps every page a write transaction dirtied (malloc'd copies) in a
 * cache of its own that only mdb_env_close frees, so a transaction that
 * wrote N pages leaves N pages of heap behind for good: a cold scan's
 * commits leave megabytes. The database handles are opened again (same
 * databases; an empty write transaction, no I/O). On failure s->env is
 * NULL, and store_env_ready reopens on the next use.
 *
 * The freed cache is given back to the system (malloc_trim), but it stays
 * in the heap as free chunks, and glibc would carve the new environment's
 * 2 MiB dirty list out of one of them and zero it, making 2 MiB resident
 * for a list of which a few entries are ever used. So while the
 * environment opens, large free chunks are held (blocks the size of the
 * list, never touched, at most STORE_HOLD_MAX) and the list comes from
 * fresh pages that stay untouched until used.
 */
static int store_env_reopen(struct hk_store *s)
{
	void *held[STORE_HOLD_MAX];
	size_t n_held = 0;
	MDB_txn *txn = NULL;
	int rc;

	if (s->env) {
		mdb_env_close(s->env);
		s->env = NULL;
		malloc_trim(0);
		while (n_held < STORE_HOLD_MAX && mallinfo2().fordblks >= STORE_LMDB_DIRTY_LIST)
			held[n_held++] = hk_xmalloc(STORE_LMDB_DIRTY_LIST);
	}
	/* LMDB opens its files by name: they are checked again as at the
	 * first open (no symbolic link, ours, private) */
	rc = store_open_file(s->dir_fd, s->dir, STORE_LMDB_LOCK, O_RDWR, false, NULL);
	if (rc >= 0) {
		close(rc);
		rc = store_open_file(s->dir_fd, s->dir, HK_STORE_DATA_FILE, O_RDONLY, false, NULL);
	}
	if (rc >= 0) {
		close(rc);
		rc = store_env_open(s);
	}
	while (n_held)
		free(held[--n_held]);
	if (rc)
		goto out;
	rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	for (int i = 0; rc == 0 && i < STORE_DB_COUNT; i++)
		rc = mdb_dbi_open(txn, store_db_names[i], 0, &s->dbi[i]);
	if (rc == 0)
		rc = mdb_txn_commit(txn);   /* frees txn, even on failure */
	else if (txn)
		mdb_txn_abort(txn);
	if (rc) {
		mdb_env_close(s->env);
		s->env = NULL;
	}
out:
	/* said once: every commit attempt retries the reopen */
	if (rc && !s->reopen_failing)
		log_warnx(STORE_TAG, "%s: cannot reopen the LMDB environment: %s", s->data_path,
			  store_text(rc));
	else if (!rc && s->reopen_failing)
		log_notice(STORE_TAG, "%s: the LMDB environment is open again", s->data_path);
	s->reopen_failing = rc != 0;
	return rc;
}

/* An open environment: reopened if a reopen failed before. */
static int store_env_ready(struct hk_store *s)
{
	return s->env ? 0 : store_env_reopen(s);
}

/* Transactions --------------------------------------------------------------- */

static int store_cursor_del_prefix(MDB_txn *txn, MDB_dbi dbi, const unsigned char *prefix,
				   size_t plen)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		goto out;
	for (;;) {
		k.mv_data = (void *)prefix;
		k.mv_size = plen;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND) {
			rc = 0;
			break;
		}
		if (rc)
			break;
		if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)
			break;
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			break;
	}
out:
	if (cur)
		mdb_cursor_close(cur);
	return rc;
}

int store_apply_complete(struct hk_store *s, MDB_txn *txn, const struct store_op *op)
{
	MDB_val k = { .mv_size = op->klen, .mv_data = op->key };
	MDB_val v;
	struct hk_store_audit a;
	struct hk_buf *b = &s->scratch;
	int rc;

	rc = mdb_get(txn, s->dbi[STORE_DB_AUDIT], &k, &v);
	if (rc == MDB_NOTFOUND) {
		log_warnx(STORE_TAG, "%s: audit record %" PRIu64 " to complete is gone",
			  s->data_path, store_from_be64(op->key));
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	if (!store_decode_audit(&k, &v, &a)) {
		rc = MDB_CORRUPTED;
		goto out;
	}
	if (a.state != HK_STORE_AUDIT_INTENT) {
		log_warnx(STORE_TAG, "%s: audit record %" PRIu64 " completed twice", s->data_path,
			  a.id);
		rc = 0;
		goto out;
	}
	a.state = HK_STORE_AUDIT_DONE;
	a.outcome = (const char *)op->val;
	a.err = op->err;
	a.aside = NULL;   /* only a crash before the completion needs it */
	b->len = 0;
	store_encode_audit(b, &a);   /* copies out of the map before the put */
	v.mv_data = b->data;
	v.mv_size = b->len;
	rc = mdb_put(txn, s->dbi[STORE_DB_AUDIT], &k, &v, 0);
	if (rc)
		goto out;
	rc = mdb_del(txn, s->dbi[STORE_DB_PENDING], &k, NULL);
	if (rc == MDB_NOTFOUND)
		rc = 0;
out:
	return rc;
}

static int store_apply(struct hk_store *s, MDB_txn *txn, const struct store_op *op)
{
	MDB_val k = { .mv_size = op->klen, .mv_data = op->key };
	MDB_val v = { .mv_size = op->vlen, .mv_data = op->val };
	MDB_dbi dbi = s->dbi[op->db];
	int rc = 0;

	switch (op->kind) {
	case STORE_OP_PUT:
		rc = mdb_put(txn, dbi, &k, &v, 0);
		break;
	case STORE_OP_APPEND:
		rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND);
		if (rc == MDB_KEYEXIST)
			rc = mdb_put(txn, dbi, &k, &v, 0);
		break;
	case STORE_OP_DEL:
		rc = mdb_del(txn, dbi, &k, NULL);
		break;
	case STORE_OP_DEL_PREFIX:
		rc = store_cursor_del_prefix(txn, dbi, op->key, op->klen);
		break;
	case STORE_OP_CLEAR:
		rc = mdb_drop(txn, dbi, 0);
		break;
	case STORE_OP_AUDIT_COMPLETE:
		rc = store_apply_complete(s, txn, op);
		break;
	case STORE_OP_AUDIT_DROP:
		rc = mdb_del(txn, s->dbi[STORE_DB_AUDIT], &k, NULL);
		if (rc == 0 || rc == MDB_NOTFOUND)
			rc = mdb_del(txn, s->dbi[STORE_DB_PENDING], &k, NULL);
		break;
	}
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static bool store_op_is_index_write(const struct store_op *op)
{
	return op->db == STORE_DB_INDEX && (op->kind == STORE_OP_PUT || op->kind == STORE_OP_DEL);
}

static bool store_op_is_index_barrier(const struct store_op *op)
{
	return op->db == STORE_DB_INDEX && !store_op_is_index_write(op);
}

struct store_sorted {
	const struct store_op *op;
	size_t seq;   /* queue order: equal keys keep it */
};

static int store_sorted_cmp(const void *a, const void *b)
{
	const struct store_sorted *x = a, *y = b;
	size_t n = x->op->klen < y->op->klen ? x->op->klen : y->op->klen;
	int c = memcmp(x->op->key, y->op->key, n);
	if (c == 0)
		c = (x->op->klen > y->op->klen) - (x->op->klen < y->op->klen);
	if (c == 0)
		c = (x->seq > y->seq) - (x->seq < y->seq);
	return c;
}

static int store_apply_sorted(struct hk_store *s, MDB_txn *txn, struct store_sorted *run,
			      size_t n)
{
	int rc = 0;
	qsort(run, n, sizeof(*run), store_sorted_cmp);
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = store_apply(s, txn, run[i].op);
	return rc;
}

/* Apply the queue. Index PUTs and DELs go in key order: a scan queues them
 * in directory order, and LMDB inserts sorted keys into few leaf pages
 * where random ones dirty a page each. They commute with the writes of the
 * other databases, and are only reordered between two index barriers
 * (DEL_PREFIX, CLEAR), equal keys in queue order. */
static int store_apply_queue(struct hk_store *s, MDB_txn *txn)
{
	struct store_sorted *run = NULL;
	size_t n_run = 0, seq = 0;
	int rc = 0;

	if (s->n_ops > 1)
		run = hk_xreallocarray(NULL, s->n_ops, sizeof(*run));
	for (const struct store_op *op = s->head; rc == 0 && op; op = op->next, seq++) {
		if (run && store_op_is_index_write(op)) {
			run[n_run++] = (struct store_sorted){ op, seq };
			continue;
		}
		if (n_run && store_op_is_index_barrier(op)) {
			rc = store_apply_sorted(s, txn, run, n_run);
			n_run = 0;
			if (rc)
				break;
		}
		rc = store_apply(s, txn, op);
	}
	if (rc == 0 && n_run)
		rc = store_apply_sorted(s, txn, run, n_run);
	free(run);
	return rc;
}

/* Double the map (no transaction may be open). */
static int store_grow(struct hk_store *s)
{
	uint64_t next = s->map_size * 2;
	int rc;

	if (s->map_size >= s->max_map_size)
		return -ENOSPC;
	if (next > s->max_map_size)
		next = s->max_map_size;
	rc = mdb_env_set_mapsize(s->env, (size_t)next);
	if (rc)
		return rc;
	log_debug(STORE_TAG, "%s: map grown to %" PRIu64 " bytes", s->data_path, next);
	s->map_size = next;
	return 0;
}

/*
 * Run one write transaction: the queue, then extra[0..n_extra), then work.
 * MAP_FULL (from any of them or from the commit) aborts, doubles the map
 * and reruns all of it, so every step must be repeatable. On success the
 * queue is emptied; on failure it is kept untouched and the store turns
 * unhealthy. Returns 0 or our error code.
 */
int store_txn_run(struct hk_store *s, const struct store_op *extra, size_t n_extra,
			 store_work_fn work, void *arg)
{
	MDB_txn *txn = NULL;
	int rc = 0;
	int tries = 0;

	rc = store_env_ready(s);
	if (rc)
		goto out;
	for (;;) {
		rc = mdb_txn_begin(s->env, NULL, 0, &txn);
		if (rc == MDB_MAP_RESIZED && tries++ < STORE_MAX_RETRIES) {
			mdb_env_set_mapsize(s->env, 0);
			continue;
		}
		if (rc)
			goto out;
		rc = store_apply_queue(s, txn);
		for (size_t i = 0; rc == 0 && i < n_extra; i++)
			rc = store_apply(s, txn, &extra[i]);
		if (rc == 0 && work)
			rc = work(s, txn, arg);
		if (rc == 0)
			rc = mdb_txn_commit(txn);   /* frees txn, even on failure */
		else
			mdb_txn_abort(txn);
		txn = NULL;
		if (rc == MDB_MAP_FULL && tries++ < STORE_MAX_RETRIES) {
			int grc = store_grow(s);
			if (grc) {
				rc = grc;
				goto out;
			}
			continue;
		}
		goto out;
	}
out:
	if (rc == MDB_MAP_FULL)
		rc = -ENOSPC;
	/* log a failure once, not on every retry of the same one */
	if (rc && (s->n_ops || n_extra) && store_code(rc) != s->last_err)
		log_warnx(STORE_TAG, "%s: commit failed, %zu writes kept for retry: %s",
			  s->data_path, s->n_ops, store_text(rc));
	else if (!rc && s->last_err)
		log_notice(STORE_TAG, "%s: commits work again", s->data_path);
	store_set_health(s, rc);
	if (rc)
		return store_code(rc);
	if (s->n_ops + n_extra >= STORE_TRIM_WRITES)
		s->trim_due = true;
	store_queue_reset(s, true);
	return 0;
}

/* Opening ------------------------------------------------------------------- */

struct store_open_ctx {
	int64_t now_ns;
	char **cause;
};

static int store_meta_get(struct hk_store *s, MDB_txn *txn, const char *key, MDB_val *v)
{
	MDB_val k = { .mv_size = strlen(key), .mv_data = (void *)key };

	return mdb_get(txn, s->dbi[STORE_DB_META], &k, v);
}

static int store_meta_put(struct hk_store *s, MDB_txn *txn, const char *key, const void *val,
			  size_t len)
{
	MDB_val k = { .mv_size = strlen(key), .mv_data = (void *)key };
	MDB_val v = { .mv_size = len, .mv_data = (void *)val };

	return mdb_put(txn, s->dbi[STORE_DB_META], &k, &v, 0);
}

/* The greatest u64 BE key of a database, 0 when empty. */
static int store_last_key(MDB_txn *txn, MDB_dbi dbi, uint64_t *out)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;

	*out = 0;
	rc = mdb_cursor_open(txn, dbi, &cur);
	if (rc)
		goto out;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == MDB_NOTFOUND) {
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	if (k.mv_size != 8) {
		rc = MDB_CORRUPTED;
		goto out;
	}
	*out = store_from_be64(k.mv_data);
out:
	if (cur)
		mdb_cursor_close(cur);
	return rc;
}

/* In the first write transaction: create a new store, or check the schema
 * of an existing one; open every database; load the id counters. */
static int store_open_work(struct hk_store *s, MDB_txn *txn, void *arg)
{
	struct store_open_ctx *ctx = arg;
	MDB_dbi main_dbi;
	MDB_stat ms;
	MDB_val v;
	unsigned char buf[8];
	uint32_t schema;
	bool fresh;
	int rc;

	rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
	if (rc)
		goto out;
	rc = mdb_stat(txn, main_dbi, &ms);
	if (rc)
		goto out;
	fresh = ms.ms_entries == 0;
	if (fresh && s->read_only) {
		rc = -ENOENT;   /* nothing was ever stored */
		goto out;
	}
	for (int i = 0; i < STORE_DB_COUNT; i++) {
		rc = mdb_dbi_open(txn, store_db_names[i], fresh ? MDB_CREATE : 0, &s->dbi[i]);
		if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
			store_set_cause(ctx->cause, "%s: not a housekeeper state store "
					"(no database '%s')", s->data_path, store_db_names[i]);
			rc = HK_ESTORE;
			goto out;
		}
		if (rc)
			goto out;
	}
	if (fresh) {
		uuid_t u;

		uuid_generate(u);
		uuid_unparse_lower(u, s->uuid);
		for (int i = 0; i < 4; i++)
			buf[i] = (unsigned char)(s->schema >> (8 * i));
		rc = store_meta_put(s, txn, "schema", buf, 4);
		if (rc == 0)
			rc = store_meta_put(s, txn, "uuid", s->uuid, HK_UUID_LEN);
		for (int i = 0; i < 8; i++)
			buf[i] = (unsigned char)((uint64_t)ctx->now_ns >> (8 * i));
		if (rc == 0)
			rc = store_meta_put(s, txn, "created", buf, 8);
		s->created_ns = ctx->now_ns;
		goto out;
	}
	rc = store_meta_get(s, txn, "schema", &v);
	if (rc == 0 && v.mv_size != 4)
		rc = MDB_CORRUPTED;
	if (rc) {
		store_set_cause(ctx->cause, "%s: not a housekeeper state store (no schema "
				"version: %s)", s->data_path, mdb_strerror(rc));
		rc = HK_ESTORE;
		goto out;
	}
	schema = 0;
	for (int i = 3; i >= 0; i--)
		schema = (schema << 8) | ((const unsigned char *)v.mv_data)[i];
	if (schema > s->schema) {
		store_set_cause(ctx->cause, "%s: schema version %" PRIu32 " is newer than this "
				"housekeeper's (%" PRIu32 "); upgrade housekeeper, or move the "
				"state aside (--reset-state)", s->data_path, schema, s->schema);
		rc = HK_ESTORE;
		goto out;
	}
	/* schema < ours: no older schema exists yet; migrations go here. */
	rc = store_meta_get(s, txn, "uuid", &v);
	if (rc == 0 && v.mv_size != HK_UUID_LEN)
		rc = MDB_CORRUPTED;
	if (rc)
		goto out;
	memcpy(s->uuid, v.mv_data, HK_UUID_LEN);
	s->uuid[HK_UUID_LEN] = '\0';
	rc = store_meta_get(s, txn, "created", &v);
	if (rc == 0 && v.mv_size != 8)
		rc = MDB_CORRUPTED;
	if (rc)
		goto out;
	{
		struct store_rd r = { .p = v.mv_data, .n = v.mv_size };
		s->created_ns = store_get_i64(&r);
	}
	rc = store_last_key(txn, s->dbi[STORE_DB_AUDIT], &s->audit_last_id);
	if (rc == 0)
		rc = store_last_key(txn, s->dbi[STORE_DB_JOBS], &s->job_last_id);
out:
	if (rc && store_is_mdb_code(rc) && ctx->cause && !*ctx->cause)
		store_set_cause(ctx->cause, "%s: %s", s->data_path, mdb_strerror(rc));
	return rc;
}

static void store_free(struct hk_store *s)
{
	if (!s)
		return;
	if (s->env)
		mdb_env_close(s->env);
	store_queue_reset(s, false);
	if (s->lock_fd >= 0)
		close(s->lock_fd);   /* releases the flock */
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	free(s->last_text);
	free(s->data_path);
	free(s->dir);
	free(s);
}

/* The read-only form of the open transaction: the same checks, nothing
 * created (a store with nothing in it is -ENOENT). Committed, not aborted,
 * so that the database handles stay open. */
static int store_open_read(struct hk_store *s, struct store_open_ctx *ctx)
{
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return rc;
	rc = store_open_work(s, txn, ctx);
	if (rc == 0)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc > 0) {
		if (ctx->cause && !*ctx->cause)
			store_set_cause(ctx->cause, "%s: %s", s->data_path, mdb_strerror(rc));
		rc = HK_ESTORE;
	}
	return rc;
}

/* The lock and data files of s, opened (created unless read-only) and the
 * data file checked before LMDB maps it; *fdp gets the data file's fd
 * (the caller closes it). s->map_size grows to the file's map. */
static int store_open_files(struct hk_store *s, int *fdp, char **cause)
{
	uint64_t file_map = 0;
	int fd;
	int rc;

	/* Our files exist before LMDB opens them, created here without
	 * following symlinks; then the data file is checked. Read-only, no
	 * file is created: a reader slot is taken in the reader table when
	 * there is one (a daemon may be writing), else LMDB locks nothing
	 * (then no process has the store open). */
	rc = store_open_file(s->dir_fd, s->dir, STORE_LMDB_LOCK, O_RDWR, s->read_only, cause);
	if (rc == -ENOENT && s->read_only) {
		free(cause ? *cause : NULL);
		if (cause)
			*cause = NULL;
		s->no_lock = true;
	} else if (rc < 0) {
		return rc;
	} else {
		close(rc);
	}
	rc = store_open_file(s->dir_fd, s->dir, HK_STORE_DATA_FILE, O_RDONLY, s->read_only, cause);
	if (rc < 0)
		return rc;
	*fdp = fd = rc;
	if (s->read_only) {
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_size == 0) {
			rc = -ENOENT;
			store_set_cause(cause, "%s: nothing stored yet", s->data_path);
			return rc;
		}
	}
	rc = store_check_data(fd, s->data_path, &file_map, cause);
	if (rc)
		return rc;
	{
		struct stat st;
		/* read-only beside the daemon that holds the directory (and
		 * checked the file when it opened it): no walk, whose lock-less
		 * reads could meet pages the daemon is rewriting */
		bool held = s->read_only && store_lock_held(s->dir_fd);
		if (!held && fstat(fd, &st) == 0 && st.st_size > 0) {
			rc = store_check_walk(s->data_path, file_map > s->map_size ? file_map
										 : s->map_size,
					      cause);
			if (rc)
				return rc;
		}
	}
	if (file_map > s->map_size)
		s->map_size = file_map;
	if (s->map_size > s->max_map_size)
		s->max_map_size = s->map_size;

	return 0;
}

int hk_store_open(const char *state_dir, const struct hk_store_options *opts, int64_t now_ns,
		  struct hk_store **out, char **cause)
{
	static const struct hk_store_options defaults = { 0 };
	struct store_open_ctx ctx = { .now_ns = now_ns, .cause = cause };
	struct hk_store *s = NULL;
	int fd = -1;
	int dead = 0;
	int rc;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	s = hk_xcalloc(1, sizeof(*s));
	s->tail = &s->head;
	s->dir_fd = -1;
	s->lock_fd = -1;
	s->schema = opts->schema_version ? opts->schema_version : HK_STORE_SCHEMA;
	s->queue_max = opts->queue_max ? opts->queue_max : HK_STORE_QUEUE_MAX;
	s->max_map_size = opts->max_map_size ? opts->max_map_size : HK_STORE_MAP_SIZE_MAX;
	s->map_size = opts->map_size ? opts->map_size : HK_STORE_MAP_SIZE_DEFAULT;
	if (s->map_size > s->max_map_size)
		s->max_map_size = s->map_size;

	s->read_only = opts->read_only;
	rc = store_open_dir(state_dir, s->read_only, cause);
	if (rc < 0)
		goto out;
	s->dir_fd = rc;
	s->dir = hk_xstrdup(state_dir);
	s->data_path = hk_xasprintf("%s/%s", state_dir, HK_STORE_DATA_FILE);
	if (!s->read_only) {
		rc = store_lock(s->dir_fd, s->dir, cause);
		if (rc < 0)
			goto out;
		s->lock_fd = rc;
	}

	rc = store_open_files(s, &fd, cause);
	if (rc)
		goto out;

	rc = store_env_open(s);
	if (rc) {
		store_set_cause(cause, "%s: cannot open the LMDB environment: %s", s->data_path,
				mdb_strerror(rc));
		rc = HK_ESTORE;
		goto out;
	}
	s->max_key = (size_t)mdb_env_get_maxkeysize(s->env);
	rc = s->no_lock ? 0 : mdb_reader_check(s->env, &dead);
	if (rc) {
		store_set_cause(cause, "%s: reader table check: %s", s->data_path,
				mdb_strerror(rc));
		rc = HK_ESTORE;
		goto out;
	}
	if (dead)
		log_info(STORE_TAG, "%s: cleared %d stale reader slots", s->data_path, dead);
	rc = s->read_only ? store_open_read(s, &ctx) : store_txn_run(s, NULL, 0, store_open_work, &ctx);
	if (rc == -ENOENT && s->read_only) {
		store_set_cause(cause, "%s: nothing stored yet", s->data_path);
		goto out;
	}
	if (rc) {
		if (cause && !*cause)
			store_set_cause(cause, "%s: %s", s->data_path, s->last_text);
		goto out;
	}
	{
		MDB_envinfo info;
		if (mdb_env_info(s->env, &info) == 0)
			s->map_size = info.me_mapsize;
	}
	*out = s;
	s = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	store_free(s);
	return rc;
}

void hk_store_close(struct hk_store *store)
{
	if (!store)
		return;
	if (store->n_ops)
		log_warnx(STORE_TAG, "%s: closing with %zu writes not committed", store->data_path,
			  store->n_ops);
	store_free(store);
}

const char *hk_store_uuid(const struct hk_store *store)
{
	return store->uuid;
}

int64_t hk_store_created_ns(const struct hk_store *store)
{
	return store->created_ns;
}

/* Batching ------------------------------------------------------------------- */

int hk_store_flush(struct hk_store *store)
{
	if (store->n_ops == 0)
		return 0;
	if (store->read_only)
		return -EROFS;
	return store_txn_run(store, NULL, 0, NULL, NULL);
}

bool hk_store_trim_due(const struct hk_store *store)
{
	return store->trim_due;
}

int hk_store_trim(struct hk_store *store)
{
	int rc;

	if (!store->trim_due || store->n_ops)
		return 0;
	store_queue_reset(store, false);
	rc = store_env_reopen(store);
	store->trim_due = false;
	if (rc)
		store_set_health(store, rc);
	return rc ? store_code(rc) : 0;
}

size_t hk_store_pending(const struct hk_store *store)
{
	return store->n_ops;
}

bool hk_store_healthy(const struct hk_store *store)
{
	return store->last_err == 0;
}

int hk_store_last_error(const struct hk_store *store, const char **text)
{
	if (text)
		*text = store->last_text;
	return store->last_err;
}

uint64_t hk_store_map_size(const struct hk_store *store)
{
	return store->map_size;
}

/* Read transactions ------------------------------------------------------------ */

int store_rd_begin(struct hk_store *s, MDB_txn **txn)
{
	int rc;
	int tries = 0;

	rc = store_env_ready(s);
	if (rc)
		return rc;
	for (;;) {
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
		if (rc == MDB_MAP_RESIZED && tries++ < STORE_MAX_RETRIES) {
			mdb_env_set_mapsize(s->env, 0);
			continue;
		}
		return rc;
	}
}
