/*
 * store.c - the LMDB state store (SPEC 8). The only file that includes
 * <lmdb.h>.
 *
 * Owns: the state directory's lock (flock on housekeeper.lock, pid inside),
 * one LMDB environment on <state>/store.mdb (MDB_NOSUBDIR, default
 * durability: every commit is synced), and the in-memory queue of writes
 * that hk_store_flush commits in one transaction.
 *
 * Named databases and record formats. Integers in values are little-endian
 * fixed width; integers in keys are big-endian so byte order is numeric
 * order. A "str" is u32 length + bytes + NUL (length 0xffffffff = NULL, no
 * bytes); the stored NUL lets readers hand out pointers into the map. Every
 * value starts with a u8 record version (1); a record that does not decode
 * exactly (bad version, short, trailing bytes) is an HK_ESTORE fault.
 *   meta    "schema" -> u32 schema version; "uuid" -> 36 bytes;
 *           "created" -> i64 epoch ns.
 *   regs    id (36 bytes) -> v1, str id, name, directory, pattern,
 *           u32 n + n str excludes, i64 retention, u8 has_retention,
 *           u64 max_files, u8 has_max_files, u64 max_size, u8 has_max_size,
 *           i64 priority, str description, u8 recursive, u32 age_by,
 *           str schedule, cron (u64 minutes, u32 hours, u32 mdays,
 *           u32 months, u8 wdays, u8 mday_star, u8 wday_star),
 *           u8 allow_system_directory, u8 default_retention, u8 source,
 *           str source_file, u32 source_line, i64 created_at,
 *           i64 updated_at, i64 last_run, u32 owner_uid.
 *   index   reg id (36 bytes) + relpath bytes -> v1, u64 ino, u64 size,
 *           i64 mtime_ns, i64 key_ns [, str relpath]. When 36 + relpath
 *           does not fit LMDB's key limit (511), the key is reg id + a
 *           prefix of relpath + NUL + 16-byte hash of relpath, and the
 *           value carries the whole relpath (NUL never occurs in a path,
 *           so the two key forms never collide).
 *   jobs    u64 BE id -> v1, u64 id, str kind, str trigger, str reg_id,
 *           i64 start_ns, i64 end_ns, str outcome, u64 scanned,
 *           u64 deleted, u64 bytes, u64 errors, u8 dry_run.
 *   audit   u64 BE id -> v1, u8 state, u8 dry_run, i64 time_ns, str reg_id,
 *           str path (raw bytes), u64 size, i64 mtime_ns, str reason,
 *           str outcome, i32 err.
 *   pending u64 BE id -> empty: the audit records in state INTENT.
 *
 * Invariants:
 *  - audit ids are unique and strictly increasing: id = max(time_ns,
 *    last id + 1), so id >= time_ns and key order is time order;
 *  - an audit record is in "pending" exactly while its state is INTENT;
 *    complete and drop update both in the same transaction;
 *  - a queued write leaves the queue only when the transaction holding it
 *    committed; only index writes are ever dropped (hk_store_index_put);
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
#include <sys/wait.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "log.h"
#include "store.h"
#include "util.h"

#define STORE_TAG "store"
#define STORE_LMDB_LOCK HK_STORE_DATA_FILE "-lock"
#define STORE_REC_V1 1u
#define STORE_NULL_LEN UINT32_MAX
#define STORE_MAX_RELPATH 4096u
#define STORE_HASH_LEN 16u
#define STORE_MAX_RETRIES 64      /* map growths / resizes per commit */

/* LMDB on-disk constants (mdb.c), for the pre-open check. */
#define STORE_MDB_MAGIC 0xBEEFC0DEu
#define STORE_MDB_VERSION 1u

enum store_db {
	STORE_DB_META,
	STORE_DB_REGS,
	STORE_DB_INDEX,
	STORE_DB_JOBS,
	STORE_DB_AUDIT,
	STORE_DB_PENDING,
	STORE_DB_COUNT,
};

static const char *const store_db_names[STORE_DB_COUNT] = {
	[STORE_DB_META] = "meta",
	[STORE_DB_REGS] = "regs",
	[STORE_DB_INDEX] = "index",
	[STORE_DB_JOBS] = "jobs",
	[STORE_DB_AUDIT] = "audit",
	[STORE_DB_PENDING] = "pending",
};

enum store_op_kind {
	STORE_OP_PUT,
	STORE_OP_DEL,
	STORE_OP_DEL_PREFIX,      /* delete every key starting with key */
	STORE_OP_CLEAR,           /* empty the database */
	STORE_OP_AUDIT_COMPLETE,  /* key = audit id, val = outcome, err */
	STORE_OP_AUDIT_DROP,      /* key = audit id */
};

/* One queued write; key and val share one allocation (key first). */
struct store_op {
	enum store_op_kind kind;
	enum store_db db;
	int err;
	size_t klen;
	size_t vlen;
	unsigned char *key;
	unsigned char *val;
};

struct hk_store {
	char *dir;
	char *data_path;
	int dir_fd;
	int lock_fd;
	MDB_env *env;
	MDB_dbi dbi[STORE_DB_COUNT];
	uint64_t map_size;
	uint64_t max_map_size;
	size_t max_key;
	uint32_t schema;
	char uuid[HK_UUID_LEN + 1];
	int64_t created_ns;
	uint64_t audit_last_id;
	uint64_t job_last_id;
	/* the queue */
	struct store_op *ops;
	size_t n_ops;
	size_t cap_ops;
	size_t queue_max;
	bool index_lost;
	/* health */
	int last_err;
	char *last_text;
};

typedef int (*store_work_fn)(struct hk_store *s, MDB_txn *txn, void *arg);

/* Encoding ------------------------------------------------------------------ */

static void store_put_u8(struct hk_buf *b, unsigned v)
{
	unsigned char c = (unsigned char)v;

	hk_buf_append(b, &c, 1);
}

static void store_put_u32(struct hk_buf *b, uint32_t v)
{
	unsigned char c[4];

	for (int i = 0; i < 4; i++)
		c[i] = (unsigned char)(v >> (8 * i));
	hk_buf_append(b, c, sizeof(c));
}

static void store_put_u64(struct hk_buf *b, uint64_t v)
{
	unsigned char c[8];

	for (int i = 0; i < 8; i++)
		c[i] = (unsigned char)(v >> (8 * i));
	hk_buf_append(b, c, sizeof(c));
}

static void store_put_i64(struct hk_buf *b, int64_t v)
{
	store_put_u64(b, (uint64_t)v);
}

static void store_put_bytes(struct hk_buf *b, const char *s, size_t n)
{
	store_put_u32(b, (uint32_t)n);
	hk_buf_append(b, s, n);
	store_put_u8(b, 0);
}

/* NULL is kept apart from "". */
static void store_put_str(struct hk_buf *b, const char *s)
{
	if (!s) {
		store_put_u32(b, STORE_NULL_LEN);
		return;
	}
	store_put_bytes(b, s, strlen(s));
}

static void store_be64(unsigned char out[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t store_from_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Bounds-checked reader over one value; any overrun sets bad. */
struct store_rd {
	const unsigned char *p;
	size_t n;
	bool bad;
};

static const unsigned char *store_take(struct store_rd *r, size_t n)
{
	const unsigned char *p = r->p;

	if (r->bad || r->n < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->n -= n;
	return p;
}

static unsigned store_get_u8(struct store_rd *r)
{
	const unsigned char *p = store_take(r, 1);

	return p ? p[0] : 0;
}

static uint32_t store_get_u32(struct store_rd *r)
{
	const unsigned char *p = store_take(r, 4);
	uint32_t v = 0;

	for (int i = 3; p && i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint64_t store_get_u64(struct store_rd *r)
{
	const unsigned char *p = store_take(r, 8);
	uint64_t v = 0;

	for (int i = 7; p && i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static int64_t store_get_i64(struct store_rd *r)
{
	return (int64_t)store_get_u64(r);
}

static bool store_get_bool(struct store_rd *r)
{
	unsigned v = store_get_u8(r);

	if (v > 1)
		r->bad = true;
	return v == 1;
}

/* A str: pointer into the value (NUL-terminated there), or NULL. */
static const char *store_get_str(struct store_rd *r, size_t *len)
{
	uint32_t n = store_get_u32(r);
	const unsigned char *p = NULL;

	if (len)
		*len = 0;
	if (r->bad || n == STORE_NULL_LEN)
		return NULL;
	p = store_take(r, (size_t)n + 1);
	if (!p || p[n] != '\0' || memchr(p, '\0', n)) {
		r->bad = true;
		return NULL;
	}
	if (len)
		*len = n;
	return (const char *)p;
}

static char *store_dup_or_null(const char *s)
{
	return s ? hk_xstrdup(s) : NULL;
}

/* 128-bit hash of a long relpath for its key: two FNV-1a 64 passes with
 * different offsets. Only has to keep distinct long paths apart. */
static void store_hash(const char *s, size_t n, unsigned char out[STORE_HASH_LEN])
{
	uint64_t h1 = UINT64_C(0xcbf29ce484222325);
	uint64_t h2 = UINT64_C(0x84222325cbf29ce4) ^ n;

	for (size_t i = 0; i < n; i++) {
		h1 = (h1 ^ (unsigned char)s[i]) * UINT64_C(0x100000001b3);
		h2 = (h2 ^ (unsigned char)s[n - 1 - i]) * UINT64_C(0x100000001b3);
	}
	store_be64(out, h1);
	store_be64(out + 8, h2);
}

/* Errors -------------------------------------------------------------------- */

static bool store_is_mdb_code(int rc)
{
	return rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE;
}

/* Our error code for an LMDB or work-function return value. */
static int store_code(int rc)
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
	s->last_text = NULL;
	s->last_err = rc ? store_code(rc) : 0;
	if (rc)
		s->last_text = hk_xstrdup(store_text(rc));
}

static void store_set_cause(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void store_set_cause(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (!cause)
		return;
	va_start(ap, fmt);
	free(*cause);
	*cause = hk_xvasprintf(fmt, ap);
	va_end(ap);
}

static bool store_id_ok(const char *id)
{
	return id && strnlen(id, HK_UUID_LEN + 1) == HK_UUID_LEN;
}

/* The queue ----------------------------------------------------------------- */

static void store_op_free(struct store_op *op)
{
	free(op->key);
	op->key = NULL;
	op->val = NULL;
}

static struct store_op *store_enqueue(struct hk_store *s, enum store_op_kind kind,
				      enum store_db db, const void *key, size_t klen,
				      const void *val, size_t vlen)
{
	struct store_op *op = NULL;

	if (s->n_ops == s->cap_ops) {
		s->cap_ops = s->cap_ops ? s->cap_ops * 2 : 64;
		s->ops = hk_xreallocarray(s->ops, s->cap_ops, sizeof(*s->ops));
	}
	op = &s->ops[s->n_ops++];
	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->db = db;
	op->klen = klen;
	op->vlen = vlen;
	op->key = hk_xmalloc(klen + vlen + 1);
	if (klen)
		memcpy(op->key, key, klen);
	op->val = op->key + klen;
	if (vlen)
		memcpy(op->val, val, vlen);
	op->val[vlen] = '\0';
	return op;
}

/* Queue limit reached: give up on the persisted index rather than on audit
 * records. Index writes go, one CLEAR of the index takes their place. */
static void store_index_lose(struct hk_store *s)
{
	size_t j = 0;

	for (size_t i = 0; i < s->n_ops; i++) {
		if (s->ops[i].db == STORE_DB_INDEX)
			store_op_free(&s->ops[i]);
		else
			s->ops[j++] = s->ops[i];
	}
	log_warnx(STORE_TAG, "%s: write queue full (%zu writes, store failing: %s): "
		  "dropping %zu index writes, the stored index will be rebuilt",
		  s->data_path, s->n_ops, s->last_text ? s->last_text : "?", s->n_ops - j);
	s->n_ops = j;
	s->index_lost = true;
	store_enqueue(s, STORE_OP_CLEAR, STORE_DB_INDEX, NULL, 0, NULL, 0);
}

/* May an index write be queued? -ENOBUFS when it is dropped. */
static int store_index_admit(struct hk_store *s)
{
	if (!s->index_lost && s->n_ops >= s->queue_max)
		store_index_lose(s);
	return s->index_lost ? -ENOBUFS : 0;
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

static void store_encode_audit(struct hk_buf *b, const struct hk_store_audit *a)
{
	store_put_u8(b, STORE_REC_V1);
	store_put_u8(b, (unsigned)a->state);
	store_put_u8(b, a->dry_run);
	store_put_i64(b, a->time_ns);
	store_put_str(b, a->reg_id);
	store_put_bytes(b, a->path, a->path_len);
	store_put_u64(b, a->size);
	store_put_i64(b, a->mtime_ns);
	store_put_str(b, a->reason);
	store_put_str(b, a->outcome);
	store_put_u32(b, (uint32_t)a->err);
}

/* Decode an audit value; pointers borrow from the value. */
static bool store_decode_audit(const MDB_val *k, const MDB_val *v, struct hk_store_audit *a)
{
	struct store_rd r = { .p = v->mv_data, .n = v->mv_size };
	unsigned state;

	memset(a, 0, sizeof(*a));
	if (k->mv_size != 8 || store_get_u8(&r) != STORE_REC_V1)
		return false;
	a->id = store_from_be64(k->mv_data);
	state = store_get_u8(&r);
	a->dry_run = store_get_bool(&r);
	a->time_ns = store_get_i64(&r);
	a->reg_id = store_get_str(&r, NULL);
	a->path = store_get_str(&r, &a->path_len);
	a->size = store_get_u64(&r);
	a->mtime_ns = store_get_i64(&r);
	a->reason = store_get_str(&r, NULL);
	a->outcome = store_get_str(&r, NULL);
	a->err = (int)store_get_u32(&r);
	if (state != HK_STORE_AUDIT_INTENT && state != HK_STORE_AUDIT_DONE)
		return false;
	a->state = (enum hk_store_audit_state)state;
	return !r.bad && r.n == 0 && a->path;
}

static int store_apply_complete(struct hk_store *s, MDB_txn *txn, const struct store_op *op)
{
	MDB_val k = { .mv_size = op->klen, .mv_data = op->key };
	MDB_val v;
	struct hk_store_audit a;
	struct hk_buf b = { 0 };
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
	store_encode_audit(&b, &a);   /* copies out of the map before the put */
	v.mv_data = b.data;
	v.mv_size = b.len;
	rc = mdb_put(txn, s->dbi[STORE_DB_AUDIT], &k, &v, 0);
	if (rc)
		goto out;
	rc = mdb_del(txn, s->dbi[STORE_DB_PENDING], &k, NULL);
	if (rc == MDB_NOTFOUND)
		rc = 0;
out:
	hk_buf_fini(&b);
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
static int store_txn_run(struct hk_store *s, const struct store_op *extra, size_t n_extra,
			 store_work_fn work, void *arg)
{
	MDB_txn *txn = NULL;
	int rc = 0;
	int tries = 0;

	for (;;) {
		rc = mdb_txn_begin(s->env, NULL, 0, &txn);
		if (rc == MDB_MAP_RESIZED && tries++ < STORE_MAX_RETRIES) {
			mdb_env_set_mapsize(s->env, 0);
			continue;
		}
		if (rc)
			goto out;
		for (size_t i = 0; rc == 0 && i < s->n_ops; i++)
			rc = store_apply(s, txn, &s->ops[i]);
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
	for (size_t i = 0; i < s->n_ops; i++)
		store_op_free(&s->ops[i]);
	s->n_ops = 0;
	if (s->cap_ops > 4096) {
		/* a scan's burst of writes is over: give the memory back */
		free(s->ops);
		s->ops = NULL;
		s->cap_ops = 0;
		malloc_trim(0);
	}
	return 0;
}

/* Opening ------------------------------------------------------------------- */

/*
 * Check the data file as LMDB's mdb_env_read_header would see it, before
 * anything maps it: both meta pages must be readable with the right magic
 * and version, and the file must cover every page the newer one (larger
 * txnid) uses; a short file would SIGBUS on access. An empty file is a new
 * store. Sets *map_size to the map size the newer meta page records.
 */
#define STORE_TAIL_SLACK 16   /* pages */

static int store_check_data(int fd, const char *path, uint64_t *map_size, char **cause)
{
	/* MDB_page header: pgno_t + u16 pad + u16 flags + u32 bounds */
	const size_t hdr = sizeof(size_t) + 8;
	/* MDB_meta: magic, version, address, mapsize, dbs[2], last_pg, txnid */
	const size_t dbsz = 8 + 5 * sizeof(size_t);
	const size_t off_mapsize = 8 + sizeof(void *);
	const size_t off_dbs = off_mapsize + sizeof(size_t);
	const size_t off_last = off_dbs + 2 * dbsz;
	const size_t off_txnid = off_last + sizeof(size_t);
	const size_t metasz = off_txnid + sizeof(size_t);
	unsigned char m[2][256];
	struct stat st;
	uint32_t magic, version, psize = 0;
	size_t last_pg = 0, txnid[2] = { 0, 0 }, msize[2] = { 0, 0 }, lp[2] = { 0, 0 };
	int best;
	int rc = 0;

	if (fstat(fd, &st) < 0) {
		rc = -errno;
		store_set_cause(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (st.st_size == 0)
		goto out;
	for (int i = 0; i < 2; i++) {
		off_t off = i == 0 ? 0 : (off_t)psize;
		ssize_t r;

		if ((uint64_t)st.st_size < (uint64_t)off + hdr + metasz) {
			rc = HK_ESTORE;
			store_set_cause(cause, "%s: truncated: %jd bytes, too short for LMDB "
					"meta page %d", path, (intmax_t)st.st_size, i);
			goto out;
		}
		r = pread(fd, m[i], hdr + metasz, off);
		if (r < 0) {
			rc = -errno;
			store_set_cause(cause, "%s: %s", path, strerror(errno));
			goto out;
		}
		if ((size_t)r != hdr + metasz) {
			rc = HK_ESTORE;
			store_set_cause(cause, "%s: short read of LMDB meta page %d", path, i);
			goto out;
		}
		memcpy(&magic, m[i] + hdr, 4);
		memcpy(&version, m[i] + hdr + 4, 4);
		if (magic != STORE_MDB_MAGIC) {
			rc = HK_ESTORE;
			store_set_cause(cause, "%s: not an LMDB data file (bad magic in meta page %d)",
					path, i);
			goto out;
		}
		if (version != STORE_MDB_VERSION) {
			rc = HK_ESTORE;
			store_set_cause(cause, "%s: LMDB data format version %" PRIu32
					" is not supported (want %u)", path, version,
					STORE_MDB_VERSION);
			goto out;
		}
		if (i == 0) {
			memcpy(&psize, m[0] + hdr + off_dbs, 4);   /* mm_psize = dbs[0].md_pad */
			if (psize < 256 || psize > 65536 || (psize & (psize - 1))) {
				rc = HK_ESTORE;
				store_set_cause(cause, "%s: corrupt: page size %" PRIu32, path,
						psize);
				goto out;
			}
		}
		memcpy(&txnid[i], m[i] + hdr + off_txnid, sizeof(size_t));
		memcpy(&lp[i], m[i] + hdr + off_last, sizeof(size_t));
		memcpy(&msize[i], m[i] + hdr + off_mapsize, sizeof(size_t));
	}
	best = txnid[1] > txnid[0] ? 1 : 0;
	last_pg = lp[best];
	/* The root pages of the free and main databases (the newest pages,
	 * copy-on-write) must be in the file. The last few allocated pages
	 * may legitimately never have been written (pages a transaction
	 * allocated and freed again), so the file may end up to
	 * STORE_TAIL_SLACK pages before last_pg. */
	for (int d = 0; d < 2; d++) {
		size_t root;
		memcpy(&root, m[best] + hdr + off_dbs + (size_t)d * dbsz + 8 + 4 * sizeof(size_t),
		       sizeof(root));
		if (root != (size_t)-1 &&
		    (root > (UINT64_MAX / psize) - 1 ||
		     (uint64_t)st.st_size < ((uint64_t)root + 1) * psize)) {
			rc = HK_ESTORE;
			store_set_cause(cause, "%s: truncated or corrupt: %jd bytes, but a root "
					"page is page %zu of %" PRIu32 " bytes", path,
					(intmax_t)st.st_size, root, psize);
			goto out;
		}
	}
	if (last_pg < 1 || last_pg > (UINT64_MAX / psize) - 1 ||
	    (uint64_t)st.st_size + (uint64_t)STORE_TAIL_SLACK * psize <
		    ((uint64_t)last_pg + 1) * psize) {
		rc = HK_ESTORE;
		store_set_cause(cause, "%s: truncated or corrupt: %jd bytes, but its meta page "
				"uses %" PRIu64 " pages of %" PRIu32 " bytes (%" PRIu64 ")", path,
				(intmax_t)st.st_size, (uint64_t)last_pg + 1, psize,
				((uint64_t)last_pg + 1) * psize);
		goto out;
	}
	*map_size = msize[best];
out:
	return rc;
}

/* Touch every page of a value (overflow pages included). */
static unsigned store_touch(const MDB_val *v)
{
	unsigned sum = 0;
	const unsigned char *p = v->mv_data;
	for (size_t i = 0; i < v->mv_size; i += 2048)
		sum += p[i];
	if (v->mv_size)
		sum += p[v->mv_size - 1];
	return sum;
}

/* Walk one database with a cursor, touching every key and value. */
static int store_walk_dbi(MDB_txn *txn, MDB_dbi dbi, unsigned *sum)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, dbi, &c);
	if (rc)
		return rc;
	while ((rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0)
		*sum += store_touch(&k) + store_touch(&v);
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* In a child process: open the environment read-only and read every page
 * that any database or the free list reaches. LMDB trusts its file: a
 * damaged one (a truncated tail, garbage pages behind valid meta pages)
 * can kill the reader with SIGBUS or SIGSEGV, so the reading is done where
 * dying costs nothing. Exit 0: readable; 3: LMDB reported an error. */
static void store_walk_child(const char *path, uint64_t map_size)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi main_dbi;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	unsigned sum = 0;
	int rc = mdb_env_create(&env);
	if (!rc)
		rc = mdb_env_set_maxdbs(env, 64);
	if (!rc)
		rc = mdb_env_set_mapsize(env, (size_t)map_size);
	if (!rc)
		rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600);
	if (!rc)
		rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
	if (!rc)
		rc = store_walk_dbi(txn, 0, &sum);   /* the free list */
	if (!rc)
		rc = mdb_dbi_open(txn, NULL, 0, &main_dbi);
	if (!rc)
		rc = mdb_cursor_open(txn, main_dbi, &c);
	while (!rc && (rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0) {
		char name[512];
		MDB_dbi dbi;
		if (k.mv_size == 0 || k.mv_size >= sizeof(name))
			continue;
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		if (mdb_dbi_open(txn, name, 0, &dbi) == 0)
			rc = store_walk_dbi(txn, dbi, &sum);
		else
			sum += store_touch(&v);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	volatile unsigned sink = sum;   /* the reads must happen */
	(void)sink;
	_exit(rc ? 3 : 0);
}

static int store_check_walk(const char *path, uint64_t map_size, char **cause)
{
	pid_t pid = fork();
	if (pid < 0)
		return 0;   /* cannot check; LMDB's own checks remain */
	if (pid == 0)
		store_walk_child(path, map_size);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	if (WIFSIGNALED(status)) {
		store_set_cause(cause, "%s: damaged: reading it fails with signal %d (%s)", path,
				WTERMSIG(status), strsignal(WTERMSIG(status)));
		return HK_ESTORE;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
		store_set_cause(cause, "%s: damaged: LMDB cannot read every database", path);
		return HK_ESTORE;
	}
	return 0;   /* read fine, or could not check (a wrapper's exit code): LMDB decides */
}

/* Open (creating 0600) one of our files in the state directory, never
 * through a symlink, and make sure it is a private regular file. */
static int store_open_file(int dir_fd, const char *dir, const char *name, int flags,
			   char **cause)
{
	struct stat st;
	int fd = -1;
	int rc;

	fd = openat(dir_fd, name, flags | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0) {
		rc = -errno;
		store_set_cause(cause, "%s/%s: %s%s", dir, name, strerror(errno),
				errno == ELOOP ? " (a symbolic link)" : "");
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		store_set_cause(cause, "%s/%s: %s", dir, name, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = HK_ESTORE;
		store_set_cause(cause, "%s/%s: not a regular file", dir, name);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		rc = -EPERM;
		store_set_cause(cause, "%s/%s: owned by uid %ju, not %ju", dir, name,
				(uintmax_t)st.st_uid, (uintmax_t)geteuid());
		goto out;
	}
	if ((st.st_mode & 077) && fchmod(fd, 0600) < 0) {
		rc = -errno;
		store_set_cause(cause, "%s/%s: chmod 0600: %s", dir, name, strerror(errno));
		goto out;
	}
	return fd;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Create (0700) if missing and open the state directory; refuse symlinks,
 * foreign owners and group/other write permission. */
static int store_open_dir(const char *dir, char **cause)
{
	struct stat st;
	bool created = false;
	int fd = -1;
	int rc;

	if (!dir || dir[0] != '/') {
		rc = -EINVAL;
		store_set_cause(cause, "%s: the state directory must be an absolute path",
				dir ? dir : "(null)");
		goto out;
	}
	if (mkdir(dir, 0700) == 0)
		created = true;
	else if (errno != EEXIST) {
		rc = -errno;
		store_set_cause(cause, "%s: cannot create the state directory: %s", dir,
				strerror(errno));
		goto out;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (errno == ELOOP || (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode))) {
			rc = -ELOOP;
			store_set_cause(cause, "%s: the state directory is a symbolic link; "
					"refusing it", dir);
		} else {
			store_set_cause(cause, "%s: cannot open the state directory: %s", dir,
					strerror(-rc));
		}
		goto out;
	}
	if (created && fchmod(fd, 0700) < 0) {
		rc = -errno;
		store_set_cause(cause, "%s: chmod 0700: %s", dir, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		store_set_cause(cause, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (st.st_uid != geteuid()) {
		rc = -EPERM;
		store_set_cause(cause, "%s: the state directory is owned by uid %ju, not %ju; "
				"refusing it", dir, (uintmax_t)st.st_uid, (uintmax_t)geteuid());
		goto out;
	}
	if (st.st_mode & 022) {
		rc = -EPERM;
		store_set_cause(cause, "%s: the state directory is writable by group or other "
				"(mode %04o); refusing it (chmod 0700)", dir,
				(unsigned)(st.st_mode & 07777));
		goto out;
	}
	return fd;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Take the directory lock: a fresh open file description every time, so a
 * second open in the same process conflicts too. Returns the fd or an error
 * (HK_EBUSY naming the holder's pid). */
static int store_lock(int dir_fd, const char *dir, char **cause)
{
	char buf[32];
	ssize_t r;
	int fd = -1;
	int rc;

	fd = store_open_file(dir_fd, dir, HK_STORE_LOCK_FILE, O_RDWR, cause);
	if (fd < 0) {
		rc = fd;
		fd = -1;
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK) {
			rc = -errno;
			store_set_cause(cause, "%s/%s: flock: %s", dir, HK_STORE_LOCK_FILE,
					strerror(errno));
			goto out;
		}
		r = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[r > 0 ? r : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		rc = HK_EBUSY;
		store_set_cause(cause, "%s: the state directory is in use by another "
				"housekeeperd (pid %s)", dir, buf[0] ? buf : "unknown");
		goto out;
	}
	r = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)r, 0) != r) {
		rc = -errno;
		store_set_cause(cause, "%s/%s: cannot write the pid: %s", dir, HK_STORE_LOCK_FILE,
				strerror(errno));
		goto out;
	}
	return fd;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

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
	for (size_t i = 0; i < s->n_ops; i++)
		store_op_free(&s->ops[i]);
	free(s->ops);
	if (s->lock_fd >= 0)
		close(s->lock_fd);   /* releases the flock */
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	free(s->last_text);
	free(s->data_path);
	free(s->dir);
	free(s);
}

int hk_store_open(const char *state_dir, const struct hk_store_options *opts, int64_t now_ns,
		  struct hk_store **out, char **cause)
{
	static const struct hk_store_options defaults = { 0 };
	struct store_open_ctx ctx = { .now_ns = now_ns, .cause = cause };
	struct hk_store *s = NULL;
	uint64_t file_map = 0;
	int fd = -1;
	int dead = 0;
	int rc;

	*out = NULL;
	if (!opts)
		opts = &defaults;
	s = hk_xcalloc(1, sizeof(*s));
	s->dir_fd = -1;
	s->lock_fd = -1;
	s->schema = opts->schema_version ? opts->schema_version : HK_STORE_SCHEMA;
	s->queue_max = opts->queue_max ? opts->queue_max : HK_STORE_QUEUE_MAX;
	s->max_map_size = opts->max_map_size ? opts->max_map_size : HK_STORE_MAP_SIZE_MAX;
	s->map_size = opts->map_size ? opts->map_size : HK_STORE_MAP_SIZE_DEFAULT;
	if (s->map_size > s->max_map_size)
		s->max_map_size = s->map_size;

	rc = store_open_dir(state_dir, cause);
	if (rc < 0)
		goto out;
	s->dir_fd = rc;
	s->dir = hk_xstrdup(state_dir);
	s->data_path = hk_xasprintf("%s/%s", state_dir, HK_STORE_DATA_FILE);
	rc = store_lock(s->dir_fd, s->dir, cause);
	if (rc < 0)
		goto out;
	s->lock_fd = rc;

	/* Our files exist before LMDB opens them, created here without
	 * following symlinks; then the data file is checked. */
	rc = store_open_file(s->dir_fd, s->dir, STORE_LMDB_LOCK, O_RDWR, cause);
	if (rc < 0)
		goto out;
	close(rc);
	rc = store_open_file(s->dir_fd, s->dir, HK_STORE_DATA_FILE, O_RDONLY, cause);
	if (rc < 0)
		goto out;
	fd = rc;
	rc = store_check_data(fd, s->data_path, &file_map, cause);
	if (rc)
		goto out;
	{
		struct stat st;
		if (fstat(fd, &st) == 0 && st.st_size > 0) {
			rc = store_check_walk(s->data_path, file_map > s->map_size ? file_map
										 : s->map_size,
					      cause);
			if (rc)
				goto out;
		}
	}
	if (file_map > s->map_size)
		s->map_size = file_map;
	if (s->map_size > s->max_map_size)
		s->max_map_size = s->map_size;

	rc = mdb_env_create(&s->env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(s->env, STORE_DB_COUNT + 2);
	if (rc == 0)
		rc = mdb_env_set_mapsize(s->env, (size_t)s->map_size);
	if (rc == 0)
		rc = mdb_env_open(s->env, s->data_path, MDB_NOSUBDIR, 0600);
	if (rc) {
		store_set_cause(cause, "%s: cannot open the LMDB environment: %s", s->data_path,
				mdb_strerror(rc));
		rc = HK_ESTORE;
		goto out;
	}
	s->max_key = (size_t)mdb_env_get_maxkeysize(s->env);
	rc = mdb_reader_check(s->env, &dead);
	if (rc) {
		store_set_cause(cause, "%s: reader table check: %s", s->data_path,
				mdb_strerror(rc));
		rc = HK_ESTORE;
		goto out;
	}
	if (dead)
		log_info(STORE_TAG, "%s: cleared %d stale reader slots", s->data_path, dead);
	rc = store_txn_run(s, NULL, 0, store_open_work, &ctx);
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

int hk_store_move_aside(const char *state_dir, int64_t now_s, char **new_name, char **cause)
{
	char *name = NULL;
	int dir_fd = -1;
	int lock_fd = -1;
	int rc;

	if (new_name)
		*new_name = NULL;
	rc = store_open_dir(state_dir, cause);
	if (rc < 0)
		goto out;
	dir_fd = rc;
	rc = store_lock(dir_fd, state_dir, cause);
	if (rc < 0)
		goto out;
	lock_fd = rc;
	for (unsigned n = 0;; n++) {
		free(name);
		name = n ? hk_xasprintf("%s.corrupt-%" PRId64 ".%u", HK_STORE_DATA_FILE, now_s, n)
			 : hk_xasprintf("%s.corrupt-%" PRId64, HK_STORE_DATA_FILE, now_s);
		if (faccessat(dir_fd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
			break;
		if (n > 1000) {
			rc = -EEXIST;
			store_set_cause(cause, "%s/%s: exists", state_dir, name);
			goto out;
		}
	}
	/* the directory is ours (0700, locked): nobody races the name */
	if (renameat(dir_fd, HK_STORE_DATA_FILE, dir_fd, name) < 0) {
		rc = -errno;
		store_set_cause(cause, "%s/%s: cannot move aside: %s", state_dir,
				HK_STORE_DATA_FILE, strerror(errno));
		goto out;
	}
	if (unlinkat(dir_fd, STORE_LMDB_LOCK, 0) < 0 && errno != ENOENT)
		log_warn(STORE_TAG, "%s/%s: unlink", state_dir, STORE_LMDB_LOCK);
	log_notice(STORE_TAG, "%s/%s: moved aside to %s", state_dir, HK_STORE_DATA_FILE, name);
	if (new_name)
		*new_name = hk_xasprintf("%s/%s", state_dir, name);
	rc = 0;
out:
	free(name);
	if (lock_fd >= 0)
		close(lock_fd);
	if (dir_fd >= 0)
		close(dir_fd);
	return rc;
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
	return store_txn_run(store, NULL, 0, NULL, NULL);
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

static int store_rd_begin(struct hk_store *s, MDB_txn **txn)
{
	int rc;
	int tries = 0;

	for (;;) {
		rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
		if (rc == MDB_MAP_RESIZED && tries++ < STORE_MAX_RETRIES) {
			mdb_env_set_mapsize(s->env, 0);
			continue;
		}
		return rc;
	}
}

/* Registrations --------------------------------------------------------------- */

static void store_encode_reg(struct hk_buf *b, const struct hk_registration *reg)
{
	store_put_u8(b, STORE_REC_V1);
	store_put_str(b, reg->id);
	store_put_str(b, reg->name);
	store_put_str(b, reg->directory);
	store_put_str(b, reg->pattern);
	store_put_u32(b, (uint32_t)reg->n_excludes);
	for (size_t i = 0; i < reg->n_excludes; i++)
		store_put_str(b, reg->excludes[i]);
	store_put_i64(b, reg->retention);
	store_put_u8(b, reg->has_retention);
	store_put_u64(b, reg->max_files);
	store_put_u8(b, reg->has_max_files);
	store_put_u64(b, reg->max_size);
	store_put_u8(b, reg->has_max_size);
	store_put_i64(b, reg->priority);
	store_put_str(b, reg->description);
	store_put_u8(b, reg->recursive);
	store_put_u32(b, reg->age_by);
	store_put_str(b, reg->schedule);
	store_put_u64(b, reg->schedule_cron.minutes);
	store_put_u32(b, reg->schedule_cron.hours);
	store_put_u32(b, reg->schedule_cron.mdays);
	store_put_u32(b, reg->schedule_cron.months);
	store_put_u8(b, reg->schedule_cron.wdays);
	store_put_u8(b, reg->schedule_cron.mday_star);
	store_put_u8(b, reg->schedule_cron.wday_star);
	store_put_u8(b, reg->allow_system_directory);
	store_put_u8(b, reg->default_retention);
	store_put_u8(b, (unsigned)reg->source);
	store_put_str(b, reg->source_file);
	store_put_u32(b, reg->source_line);
	store_put_i64(b, reg->created_at);
	store_put_i64(b, reg->updated_at);
	store_put_i64(b, reg->last_run);
	store_put_u32(b, reg->owner_uid);
}

/* Decode into a new registration (all strings copied); NULL if malformed. */
static struct hk_registration *store_decode_reg(const MDB_val *v)
{
	struct store_rd r = { .p = v->mv_data, .n = v->mv_size };
	struct hk_registration *reg = NULL;
	const char *id;
	uint32_t n;
	unsigned source;

	if (store_get_u8(&r) != STORE_REC_V1)
		return NULL;
	reg = hk_xcalloc(1, sizeof(*reg));
	id = store_get_str(&r, NULL);
	if (!store_id_ok(id))
		goto bad;
	memcpy(reg->id, id, HK_UUID_LEN + 1);
	reg->name = store_dup_or_null(store_get_str(&r, NULL));
	reg->directory = store_dup_or_null(store_get_str(&r, NULL));
	reg->pattern = store_dup_or_null(store_get_str(&r, NULL));
	n = store_get_u32(&r);
	if (r.bad || n > r.n / 4)
		goto bad;
	reg->excludes = hk_xcalloc((size_t)n + 1, sizeof(*reg->excludes));
	for (uint32_t i = 0; i < n; i++) {
		const char *e = store_get_str(&r, NULL);
		if (!e)
			goto bad;
		reg->excludes[reg->n_excludes++] = hk_xstrdup(e);
	}
	reg->retention = store_get_i64(&r);
	reg->has_retention = store_get_bool(&r);
	reg->max_files = store_get_u64(&r);
	reg->has_max_files = store_get_bool(&r);
	reg->max_size = store_get_u64(&r);
	reg->has_max_size = store_get_bool(&r);
	reg->priority = (long)store_get_i64(&r);
	reg->description = store_dup_or_null(store_get_str(&r, NULL));
	reg->recursive = store_get_bool(&r);
	reg->age_by = store_get_u32(&r);
	reg->schedule = store_dup_or_null(store_get_str(&r, NULL));
	reg->schedule_cron.minutes = store_get_u64(&r);
	reg->schedule_cron.hours = store_get_u32(&r);
	reg->schedule_cron.mdays = store_get_u32(&r);
	reg->schedule_cron.months = (uint16_t)store_get_u32(&r);
	reg->schedule_cron.wdays = (uint8_t)store_get_u8(&r);
	reg->schedule_cron.mday_star = store_get_bool(&r);
	reg->schedule_cron.wday_star = store_get_bool(&r);
	reg->allow_system_directory = store_get_bool(&r);
	reg->default_retention = store_get_bool(&r);
	source = store_get_u8(&r);
	if (source == HK_SOURCE_CONFIG)
		reg->source = HK_SOURCE_CONFIG;
	else if (source == HK_SOURCE_API)
		reg->source = HK_SOURCE_API;
	else
		goto bad;
	reg->source_file = store_dup_or_null(store_get_str(&r, NULL));
	reg->source_line = store_get_u32(&r);
	reg->created_at = store_get_i64(&r);
	reg->updated_at = store_get_i64(&r);
	reg->last_run = store_get_i64(&r);
	reg->owner_uid = store_get_u32(&r);
	if (r.bad || r.n != 0 || !reg->directory || !reg->pattern)
		goto bad;
	return reg;
bad:
	hk_registration_free(reg);
	return NULL;
}

int hk_store_reg_put(struct hk_store *store, const struct hk_registration *reg)
{
	struct hk_buf b = { 0 };

	if (!store_id_ok(reg->id) || !reg->directory || !reg->pattern ||
	    reg->n_excludes > UINT32_MAX / 8)
		return -EINVAL;
	store_encode_reg(&b, reg);
	store_enqueue(store, STORE_OP_PUT, STORE_DB_REGS, reg->id, HK_UUID_LEN, b.data, b.len);
	hk_buf_fini(&b);
	return 0;
}

int hk_store_reg_delete(struct hk_store *store, const char *id)
{
	if (!store_id_ok(id))
		return -EINVAL;
	store_enqueue(store, STORE_OP_DEL, STORE_DB_REGS, id, HK_UUID_LEN, NULL, 0);
	return 0;
}

int hk_store_reg_load_all(struct hk_store *store, struct hk_registration ***regs, size_t *n)
{
	struct hk_registration **arr = NULL;
	size_t cnt = 0;
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;

	*regs = NULL;
	*n = 0;
	rc = store_rd_begin(store, &txn);
	if (rc)
		goto out;
	rc = mdb_cursor_open(txn, store->dbi[STORE_DB_REGS], &cur);
	if (rc)
		goto out;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct hk_registration *reg = store_decode_reg(&v);

		if (!reg || k.mv_size != HK_UUID_LEN || memcmp(k.mv_data, reg->id, HK_UUID_LEN)) {
			hk_registration_free(reg);
			log_warnx(STORE_TAG, "%s: registration record '%.*s' cannot be decoded",
				  store->data_path, (int)(k.mv_size > 64 ? 64 : k.mv_size),
				  (const char *)k.mv_data);
			rc = MDB_CORRUPTED;
			break;
		}
		arr = hk_xreallocarray(arr, cnt + 1, sizeof(*arr));
		arr[cnt++] = reg;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
out:
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	if (rc) {
		for (size_t i = 0; i < cnt; i++)
			hk_registration_free(arr[i]);
		free(arr);
		return store_code(rc);
	}
	*regs = arr;
	*n = cnt;
	return 0;
}

/* File index -------------------------------------------------------------------- */

static bool store_relpath_ok(const char *relpath, size_t len)
{
	return relpath && len > 0 && len <= STORE_MAX_RELPATH && !memchr(relpath, '\0', len);
}

/* Build the index key of (reg_id, relpath) into key (size max_key);
 * returns its length and whether it is the hashed form. */
static size_t store_index_key(const struct hk_store *s, const char *reg_id, const char *relpath,
			      size_t len, unsigned char *key, bool *hashed)
{
	size_t room;

	memcpy(key, reg_id, HK_UUID_LEN);
	if (HK_UUID_LEN + len <= s->max_key) {
		memcpy(key + HK_UUID_LEN, relpath, len);
		*hashed = false;
		return HK_UUID_LEN + len;
	}
	room = s->max_key - HK_UUID_LEN - 1 - STORE_HASH_LEN;
	memcpy(key + HK_UUID_LEN, relpath, room);
	key[HK_UUID_LEN + room] = '\0';
	store_hash(relpath, len, key + HK_UUID_LEN + room + 1);
	*hashed = true;
	return s->max_key;
}

int hk_store_index_put(struct hk_store *store, const char *reg_id, const char *relpath,
		       size_t rel_len, const struct hk_store_file *file)
{
	unsigned char *key = NULL;
	struct hk_buf b = { 0 };
	size_t klen;
	bool hashed;
	int rc;

	if (!store_id_ok(reg_id) || !store_relpath_ok(relpath, rel_len)) {
		rc = -EINVAL;
		goto out;
	}
	rc = store_index_admit(store);
	if (rc)
		goto out;
	key = hk_xmalloc(store->max_key);
	klen = store_index_key(store, reg_id, relpath, rel_len, key, &hashed);
	store_put_u8(&b, STORE_REC_V1);
	store_put_u64(&b, file->ino);
	store_put_u64(&b, file->size);
	store_put_i64(&b, file->mtime_ns);
	store_put_i64(&b, file->key_ns);
	if (hashed)
		store_put_bytes(&b, relpath, rel_len);
	store_enqueue(store, STORE_OP_PUT, STORE_DB_INDEX, key, klen, b.data, b.len);
out:
	free(key);
	hk_buf_fini(&b);
	return rc;
}

int hk_store_index_delete(struct hk_store *store, const char *reg_id, const char *relpath,
			  size_t rel_len)
{
	unsigned char *key = NULL;
	size_t klen;
	bool hashed;
	int rc;

	if (!store_id_ok(reg_id) || !store_relpath_ok(relpath, rel_len)) {
		rc = -EINVAL;
		goto out;
	}
	rc = store_index_admit(store);
	if (rc)
		goto out;
	key = hk_xmalloc(store->max_key);
	klen = store_index_key(store, reg_id, relpath, rel_len, key, &hashed);
	store_enqueue(store, STORE_OP_DEL, STORE_DB_INDEX, key, klen, NULL, 0);
out:
	free(key);
	return rc;
}

int hk_store_index_drop(struct hk_store *store, const char *reg_id)
{
	int rc;

	if (!store_id_ok(reg_id))
		return -EINVAL;
	rc = store_index_admit(store);
	if (rc)
		return rc;
	store_enqueue(store, STORE_OP_DEL_PREFIX, STORE_DB_INDEX, reg_id, HK_UUID_LEN, NULL, 0);
	return 0;
}

int hk_store_index_load(struct hk_store *store, const char *reg_id,
			int (*cb)(const char *relpath, size_t rel_len,
				  const struct hk_store_file *file, void *arg),
			void *arg)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	char *path = NULL;
	int rc;

	if (!store_id_ok(reg_id))
		return -EINVAL;
	rc = store_rd_begin(store, &txn);
	if (rc)
		goto out;
	rc = mdb_cursor_open(txn, store->dbi[STORE_DB_INDEX], &cur);
	if (rc)
		goto out;
	k.mv_data = (void *)reg_id;
	k.mv_size = HK_UUID_LEN;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct store_rd r = { .p = v.mv_data, .n = v.mv_size };
		struct hk_store_file f;
		const unsigned char *kp = k.mv_data;
		const char *rel;
		size_t rel_len;
		int crc;

		if (k.mv_size <= HK_UUID_LEN || memcmp(kp, reg_id, HK_UUID_LEN) != 0)
			break;
		if (store_get_u8(&r) != STORE_REC_V1)
			r.bad = true;
		f.ino = store_get_u64(&r);
		f.size = store_get_u64(&r);
		f.mtime_ns = store_get_i64(&r);
		f.key_ns = store_get_i64(&r);
		if (memchr(kp + HK_UUID_LEN, '\0', k.mv_size - HK_UUID_LEN)) {
			rel = store_get_str(&r, &rel_len);
			if (!rel)
				r.bad = true;
		} else {
			/* the key is not NUL-terminated: copy it */
			rel_len = k.mv_size - HK_UUID_LEN;
			path = hk_xrealloc(path, rel_len + 1);
			memcpy(path, kp + HK_UUID_LEN, rel_len);
			path[rel_len] = '\0';
			rel = path;
		}
		if (r.bad || r.n != 0) {
			rc = MDB_CORRUPTED;
			break;
		}
		crc = cb(rel, rel_len, &f, arg);
		if (crc) {
			rc = crc;
			goto out;
		}
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	rc = store_code(rc);
out:
	free(path);
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

bool hk_store_index_lost(const struct hk_store *store)
{
	return store->index_lost;
}

void hk_store_index_resume(struct hk_store *store)
{
	store->index_lost = false;
}

/* Jobs --------------------------------------------------------------------------- */

static bool store_decode_job(const MDB_val *k, const MDB_val *v, struct hk_store_job *j)
{
	struct store_rd r = { .p = v->mv_data, .n = v->mv_size };

	memset(j, 0, sizeof(*j));
	if (k->mv_size != 8 || store_get_u8(&r) != STORE_REC_V1)
		return false;
	j->id = store_get_u64(&r);
	j->kind = store_get_str(&r, NULL);
	j->trigger = store_get_str(&r, NULL);
	j->reg_id = store_get_str(&r, NULL);
	j->start_ns = store_get_i64(&r);
	j->end_ns = store_get_i64(&r);
	j->outcome = store_get_str(&r, NULL);
	j->scanned = store_get_u64(&r);
	j->deleted = store_get_u64(&r);
	j->bytes = store_get_u64(&r);
	j->errors = store_get_u64(&r);
	j->dry_run = store_get_bool(&r);
	return !r.bad && r.n == 0 && j->id == store_from_be64(k->mv_data);
}

int hk_store_job_put(struct hk_store *store, const struct hk_store_job *job)
{
	struct hk_buf b = { 0 };
	unsigned char key[8];

	store_be64(key, job->id);
	store_put_u8(&b, STORE_REC_V1);
	store_put_u64(&b, job->id);
	store_put_str(&b, job->kind);
	store_put_str(&b, job->trigger);
	store_put_str(&b, job->reg_id);
	store_put_i64(&b, job->start_ns);
	store_put_i64(&b, job->end_ns);
	store_put_str(&b, job->outcome);
	store_put_u64(&b, job->scanned);
	store_put_u64(&b, job->deleted);
	store_put_u64(&b, job->bytes);
	store_put_u64(&b, job->errors);
	store_put_u8(&b, job->dry_run);
	store_enqueue(store, STORE_OP_PUT, STORE_DB_JOBS, key, sizeof(key), b.data, b.len);
	hk_buf_fini(&b);
	if (job->id > store->job_last_id)
		store->job_last_id = job->id;
	return 0;
}

uint64_t hk_store_job_last_id(const struct hk_store *store)
{
	return store->job_last_id;
}

int hk_store_job_list(struct hk_store *store, size_t limit,
		      int (*cb)(const struct hk_store_job *job, void *arg), void *arg)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t seen = 0;
	int rc;

	rc = store_rd_begin(store, &txn);
	if (rc)
		goto out;
	rc = mdb_cursor_open(txn, store->dbi[STORE_DB_JOBS], &cur);
	if (rc)
		goto out;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_LAST); rc == 0 && (!limit || seen < limit);
	     rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
		struct hk_store_job j;
		int crc;

		if (!store_decode_job(&k, &v, &j)) {
			rc = MDB_CORRUPTED;
			break;
		}
		seen++;
		crc = cb(&j, arg);
		if (crc) {
			rc = crc;
			goto out;
		}
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	rc = store_code(rc);
out:
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

/* Audit ---------------------------------------------------------------------------- */

static bool store_audit_ok(const struct hk_store_audit *a)
{
	return store_id_ok(a->reg_id) && a->path && a->path_len > 0 &&
	       a->path_len < UINT32_MAX && !memchr(a->path, '\0', a->path_len);
}

static uint64_t store_audit_next_id(struct hk_store *s, int64_t time_ns)
{
	uint64_t id = time_ns > 0 ? (uint64_t)time_ns : 0;

	if (id <= s->audit_last_id)
		id = s->audit_last_id + 1;
	s->audit_last_id = id;
	return id;
}

int hk_store_audit_intent(struct hk_store *store, const struct hk_store_audit *recs, size_t n,
			  uint64_t *ids_out)
{
	struct store_op *ops = NULL;
	size_t n_ops = 0;
	uint64_t saved_last = store->audit_last_id;
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (!store_audit_ok(&recs[i]) || recs[i].dry_run) {
			rc = -EINVAL;
			goto out;
		}
	}
	if (n == 0)
		goto out;
	ops = hk_xcalloc(2 * n, sizeof(*ops));
	for (size_t i = 0; i < n; i++) {
		struct hk_store_audit a = recs[i];
		struct hk_buf b = { 0 };
		unsigned char key[8];
		struct store_op *op;

		a.id = store_audit_next_id(store, a.time_ns);
		a.state = HK_STORE_AUDIT_INTENT;
		a.outcome = NULL;
		a.err = 0;
		ids_out[i] = a.id;
		store_be64(key, a.id);
		store_encode_audit(&b, &a);
		op = &ops[n_ops++];
		op->kind = STORE_OP_PUT;
		op->db = STORE_DB_AUDIT;
		op->klen = 8;
		op->vlen = b.len;
		op->key = hk_xmalloc(8 + b.len);
		memcpy(op->key, key, 8);
		op->val = op->key + 8;
		memcpy(op->val, b.data, b.len);
		hk_buf_fini(&b);
		op = &ops[n_ops++];
		op->kind = STORE_OP_PUT;
		op->db = STORE_DB_PENDING;
		op->klen = 8;
		op->vlen = 0;
		op->key = hk_xmalloc(8);
		memcpy(op->key, key, 8);
		op->val = op->key + 8;
	}
	rc = store_txn_run(store, ops, n_ops, NULL, NULL);
	if (rc)
		store->audit_last_id = saved_last;
out:
	for (size_t i = 0; i < n_ops; i++)
		store_op_free(&ops[i]);
	free(ops);
	return rc;
}

int hk_store_audit_complete(struct hk_store *store, uint64_t id, const char *outcome, int err)
{
	unsigned char key[8];
	struct store_op *op;

	if (!outcome)
		return -EINVAL;
	store_be64(key, id);
	op = store_enqueue(store, STORE_OP_AUDIT_COMPLETE, STORE_DB_AUDIT, key, 8, outcome,
			   strlen(outcome));
	op->err = err;
	return 0;
}

int hk_store_audit_drop(struct hk_store *store, uint64_t id)
{
	unsigned char key[8];

	store_be64(key, id);
	store_enqueue(store, STORE_OP_AUDIT_DROP, STORE_DB_AUDIT, key, 8, NULL, 0);
	return 0;
}

int hk_store_audit_add(struct hk_store *store, const struct hk_store_audit *rec,
		       uint64_t *id_out)
{
	struct hk_store_audit a = *rec;
	struct hk_buf b = { 0 };
	unsigned char key[8];

	if (!store_audit_ok(rec))
		return -EINVAL;
	if (store->n_ops >= store->queue_max && !store->index_lost)
		store_index_lose(store);
	if (store->n_ops >= store->queue_max)
		return -ENOBUFS;
	a.id = store_audit_next_id(store, a.time_ns);
	a.state = HK_STORE_AUDIT_DONE;
	store_be64(key, a.id);
	store_encode_audit(&b, &a);
	store_enqueue(store, STORE_OP_PUT, STORE_DB_AUDIT, key, 8, b.data, b.len);
	hk_buf_fini(&b);
	if (id_out)
		*id_out = a.id;
	return 0;
}

int hk_store_audit_open_intents(struct hk_store *store,
				int (*cb)(const struct hk_store_audit *rec, void *arg), void *arg)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v, av;
	int rc;

	rc = store_rd_begin(store, &txn);
	if (rc)
		goto out;
	rc = mdb_cursor_open(txn, store->dbi[STORE_DB_PENDING], &cur);
	if (rc)
		goto out;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct hk_store_audit a;
		int crc;

		rc = mdb_get(txn, store->dbi[STORE_DB_AUDIT], &k, &av);
		if (rc == MDB_NOTFOUND) {
			log_warnx(STORE_TAG, "%s: pending intent without an audit record",
				  store->data_path);
			continue;
		}
		if (rc)
			break;
		if (!store_decode_audit(&k, &av, &a)) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (a.state != HK_STORE_AUDIT_INTENT)
			continue;
		crc = cb(&a, arg);
		if (crc) {
			rc = crc;
			goto out;
		}
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	rc = store_code(rc);
out:
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

int hk_store_audit_list(struct hk_store *store, const struct hk_store_audit_query *q,
			int (*cb)(const struct hk_store_audit *rec, void *arg), void *arg)
{
	static const struct hk_store_audit_query all = { 0 };
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	unsigned char start[8];
	uint64_t since = 0;
	size_t seen = 0;
	int rc;

	if (!q)
		q = &all;
	if (q->since_ns > 0)
		since = (uint64_t)q->since_ns;
	rc = store_rd_begin(store, &txn);
	if (rc)
		goto out;
	rc = mdb_cursor_open(txn, store->dbi[STORE_DB_AUDIT], &cur);
	if (rc)
		goto out;
	if (q->newest_first) {
		rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	} else {
		store_be64(start, since);
		k.mv_data = start;
		k.mv_size = 8;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	for (; rc == 0 && (!q->limit || seen < q->limit);
	     rc = mdb_cursor_get(cur, &k, &v, q->newest_first ? MDB_PREV : MDB_NEXT)) {
		struct hk_store_audit a;
		int crc;

		if (!store_decode_audit(&k, &v, &a)) {
			rc = MDB_CORRUPTED;
			break;
		}
		if (a.id < since)   /* id >= time_ns: nothing older follows */
			break;
		if (a.time_ns < q->since_ns)
			continue;
		if (a.state == HK_STORE_AUDIT_INTENT && !q->with_intents)
			continue;
		if (q->reg_id && (!a.reg_id || strcmp(a.reg_id, q->reg_id) != 0))
			continue;
		seen++;
		crc = cb(&a, arg);
		if (crc) {
			rc = crc;
			goto out;
		}
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	rc = store_code(rc);
out:
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	return rc;
}

/* Retention ------------------------------------------------------------------------- */

struct store_prune_ctx {
	int64_t before_ns;
	size_t budget;
	size_t deleted;
	bool more;
};

static bool store_prune_room(const struct store_prune_ctx *p)
{
	return !p->budget || p->deleted < p->budget;
}

static int store_prune_jobs(struct hk_store *s, MDB_txn *txn, struct store_prune_ctx *p)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc;

	rc = mdb_cursor_open(txn, s->dbi[STORE_DB_JOBS], &cur);
	if (rc)
		goto out;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST)) {
		struct hk_store_job j;
		int64_t t;

		if (!store_decode_job(&k, &v, &j)) {
			rc = MDB_CORRUPTED;
			goto out;
		}
		t = j.end_ns ? j.end_ns : j.start_ns;
		if (t >= p->before_ns)
			break;
		if (!store_prune_room(p)) {
			p->more = true;
			break;
		}
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			goto out;
		p->deleted++;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
out:
	if (cur)
		mdb_cursor_close(cur);
	return rc;
}

static int store_prune_audit(struct hk_store *s, MDB_txn *txn, struct store_prune_ctx *p)
{
	MDB_cursor *cur = NULL;
	MDB_val k, v, pv;
	int rc;

	if (p->before_ns <= 0)
		return 0;
	rc = mdb_cursor_open(txn, s->dbi[STORE_DB_AUDIT], &cur);
	if (rc)
		goto out;
	/* Intents are skipped with MDB_NEXT; a deletion leaves the cursor on
	 * the next record, which GET_CURRENT would give; re-seeking from the
	 * last key kept is simpler and as cheap. */
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;) {
		unsigned char at[8];

		if (k.mv_size != 8) {
			rc = MDB_CORRUPTED;
			goto out;
		}
		if (store_from_be64(k.mv_data) >= (uint64_t)p->before_ns)
			break;
		memcpy(at, k.mv_data, 8);
		rc = mdb_get(txn, s->dbi[STORE_DB_PENDING], &k, &pv);
		if (rc == 0) {   /* unsettled intent: keep */
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
			continue;
		}
		if (rc != MDB_NOTFOUND)
			goto out;
		if (!store_prune_room(p)) {
			p->more = true;
			rc = 0;
			goto out;
		}
		rc = mdb_cursor_del(cur, 0);
		if (rc)
			goto out;
		p->deleted++;
		k.mv_data = at;
		k.mv_size = 8;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
out:
	if (cur)
		mdb_cursor_close(cur);
	return rc;
}

static int store_prune_work(struct hk_store *s, MDB_txn *txn, void *arg)
{
	struct store_prune_ctx *p = arg;
	int rc;

	/* rerun from scratch after a map growth */
	p->deleted = 0;
	p->more = false;
	rc = store_prune_jobs(s, txn, p);
	if (rc == 0)
		rc = store_prune_audit(s, txn, p);
	return rc;
}

int hk_store_prune(struct hk_store *store, int64_t before_ns, size_t budget, bool *more)
{
	struct store_prune_ctx p = { .before_ns = before_ns, .budget = budget };
	int rc;

	*more = false;
	rc = store_txn_run(store, NULL, 0, store_prune_work, &p);
	if (rc == 0) {
		*more = p.more;
		if (p.deleted)
			log_debug(STORE_TAG, "%s: pruned %zu records", store->data_path, p.deleted);
	}
	return rc;
}
