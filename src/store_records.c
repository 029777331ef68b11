/*
 * store_records.c - the records of the LMDB state store (SPEC 8): the
 * public put/get/list/prune functions of registrations, the file index,
 * jobs and the audit trail, built on the write queue and transactions of
 * store.c and the encoding of store_codec.c (shared in store_int.h).
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
 *           str outcome, i32 err; or v2: the same, then u64 ino, str aside
 *           (written when either is set; v1 records of older stores read
 *           as ino 0, aside NULL, so the schema stays).
 *   pending u64 BE id -> empty: the audit records in state INTENT.
 *
 * Invariants:
 *  - audit ids are unique and strictly increasing: id = max(time_ns,
 *    last id + 1), so id >= time_ns and key order is time order;
 *  - an audit record is in "pending" exactly while its state is INTENT;
 *    complete and drop update both in the same transaction.
 */
#include "autoconfig.h"

#include <errno.h>
#include <inttypes.h>
#include <lmdb.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"


/* Registrations --------------------------------------------------------------- */

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

/* The read scans: visit the records of db in key order, from the first
 * (backward: the last) one, or forward from the first key >= *start.
 * visit returns true to go on; false stops the scan, which then returns
 * *ret (0 unless the visitor set it: a callback's value, or an error as
 * store_code gives it). A scan that runs out of records returns 0. */
typedef bool store_visit_fn(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg,
			    int *ret);

static int store_scan(struct hk_store *s, enum store_db db, const MDB_val *start, bool backward,
		      store_visit_fn *visit, void *arg)
{
	MDB_txn *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int ret = 0;
	int rc = store_rd_begin(s, &txn);

	if (rc == 0)
		rc = mdb_cursor_open(txn, s->dbi[db], &cur);
	if (rc == 0 && start) {
		k = *start;
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	} else if (rc == 0) {
		rc = mdb_cursor_get(cur, &k, &v, backward ? MDB_LAST : MDB_FIRST);
	}
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, backward ? MDB_PREV : MDB_NEXT))
		if (!visit(txn, &k, &v, arg, &ret))
			break;
	if (cur)
		mdb_cursor_close(cur);
	if (txn)
		mdb_txn_abort(txn);
	if (rc == 0)
		return ret;
	return rc == MDB_NOTFOUND ? 0 : store_code(rc);
}

/* A visitor's way to stop on a record that does not decode. */
static bool store_scan_corrupt(int *ret)
{
	*ret = store_code(MDB_CORRUPTED);
	return false;
}

struct store_regs_ctx {
	const struct hk_store *store;
	struct hk_registration **arr;
	size_t n;
};

static bool store_regs_visit(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg,
			     int *ret)
{
	struct store_regs_ctx *c = arg;
	struct hk_registration *reg = store_decode_reg(v);

	(void)txn;
	if (!reg || k->mv_size != HK_UUID_LEN || memcmp(k->mv_data, reg->id, HK_UUID_LEN)) {
		hk_registration_free(reg);
		log_warnx(STORE_TAG, "%s: registration record '%.*s' cannot be decoded",
			  c->store->data_path, (int)(k->mv_size > 64 ? 64 : k->mv_size),
			  (const char *)k->mv_data);
		return store_scan_corrupt(ret);
	}
	c->arr = hk_xreallocarray(c->arr, c->n + 1, sizeof(*c->arr));
	c->arr[c->n++] = reg;
	return true;
}

int hk_store_reg_load_all(struct hk_store *store, struct hk_registration ***regs, size_t *n)
{
	struct store_regs_ctx c = { store, NULL, 0 };
	int rc = store_scan(store, STORE_DB_REGS, NULL, false, store_regs_visit, &c);

	if (rc) {
		for (size_t i = 0; i < c.n; i++)
			hk_registration_free(c.arr[i]);
		free(c.arr);
		*regs = NULL;
		*n = 0;
		return rc;
	}
	*regs = c.arr;
	*n = c.n;
	return 0;
}

/* File index -------------------------------------------------------------------- */

static bool store_relpath_ok(const char *relpath, size_t len)
{
	return relpath && len > 0 && len <= STORE_MAX_RELPATH && !memchr(relpath, '\0', len);
}

/* Is the index key of a relpath of len bytes the hashed form? */
static bool store_index_hashed(const struct hk_store *s, size_t len)
{
	return HK_UUID_LEN + len > s->max_key;
}

/* Length of the index key of a relpath of len bytes. */
static size_t store_index_klen(const struct hk_store *s, size_t len)
{
	return store_index_hashed(s, len) ? s->max_key : HK_UUID_LEN + len;
}

/* Build the index key of (reg_id, relpath) into key
 * (store_index_klen bytes). */
static void store_index_key(const struct hk_store *s, const char *reg_id, const char *relpath,
			    size_t len, unsigned char *key)
{
	size_t room;

	memcpy(key, reg_id, HK_UUID_LEN);
	if (!store_index_hashed(s, len)) {
		memcpy(key + HK_UUID_LEN, relpath, len);
		return;
	}
	room = s->max_key - HK_UUID_LEN - 1 - STORE_HASH_LEN;
	memcpy(key + HK_UUID_LEN, relpath, room);
	key[HK_UUID_LEN + room] = '\0';
	store_hash(relpath, len, key + HK_UUID_LEN + room + 1);
}

static unsigned char *store_le64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	return p + 8;
}

/* The index value (see the top of the file) is written straight into the
 * queued write: no buffer per file. */
#define STORE_INDEX_VLEN (1 + 4 * 8)

int hk_store_index_put(struct hk_store *store, const char *reg_id, const char *relpath,
		       size_t rel_len, const struct hk_store_file *file)
{
	struct store_op *op;
	unsigned char *p;
	bool hashed;
	int rc;

	if (!store_id_ok(reg_id) || !store_relpath_ok(relpath, rel_len))
		return -EINVAL;
	rc = store_index_admit(store);
	if (rc)
		return rc;
	hashed = store_index_hashed(store, rel_len);
	op = store_op_new(store, STORE_OP_PUT, STORE_DB_INDEX, store_index_klen(store, rel_len),
			  STORE_INDEX_VLEN + (hashed ? 4 + rel_len + 1 : 0));
	store_index_key(store, reg_id, relpath, rel_len, op->key);
	p = op->val;
	*p++ = STORE_REC_V1;
	p = store_le64(p, file->ino);
	p = store_le64(p, file->size);
	p = store_le64(p, (uint64_t)file->mtime_ns);
	p = store_le64(p, (uint64_t)file->key_ns);
	if (hashed) {
		for (int i = 0; i < 4; i++)
			*p++ = (unsigned char)((uint32_t)rel_len >> (8 * i));
		memcpy(p, relpath, rel_len);
		p[rel_len] = '\0';
	}
	store_enqueue_index(store, op);
	return 0;
}

int hk_store_index_delete(struct hk_store *store, const char *reg_id, const char *relpath,
			  size_t rel_len)
{
	struct store_op *op;
	int rc;

	if (!store_id_ok(reg_id) || !store_relpath_ok(relpath, rel_len))
		return -EINVAL;
	rc = store_index_admit(store);
	if (rc)
		return rc;
	op = store_op_new(store, STORE_OP_DEL, STORE_DB_INDEX, store_index_klen(store, rel_len), 0);
	store_index_key(store, reg_id, relpath, rel_len, op->key);
	store_enqueue_index(store, op);
	return 0;
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

struct store_index_ctx {
	const char *reg_id;
	int (*cb)(const char *relpath, size_t rel_len, const struct hk_store_file *file,
		  void *arg);
	void *arg;
	char *path;          /* a copy of a key's relpath, NUL-terminated */
};

static bool store_index_visit(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg,
			      int *ret)
{
	struct store_index_ctx *c = arg;
	struct store_rd r = { .p = v->mv_data, .n = v->mv_size };
	struct hk_store_file f;
	const unsigned char *kp = k->mv_data;
	const char *rel;
	size_t rel_len;

	(void)txn;
	if (k->mv_size <= HK_UUID_LEN || memcmp(kp, c->reg_id, HK_UUID_LEN) != 0)
		return false;   /* past this registration's entries */
	if (store_get_u8(&r) != STORE_REC_V1)
		r.bad = true;
	f.ino = store_get_u64(&r);
	f.size = store_get_u64(&r);
	f.mtime_ns = store_get_i64(&r);
	f.key_ns = store_get_i64(&r);
	if (memchr(kp + HK_UUID_LEN, '\0', k->mv_size - HK_UUID_LEN)) {
		rel = store_get_str(&r, &rel_len);
		if (!rel)
			r.bad = true;
	} else {
		/* the key is not NUL-terminated: copy it */
		rel_len = k->mv_size - HK_UUID_LEN;
		c->path = hk_xrealloc(c->path, rel_len + 1);
		memcpy(c->path, kp + HK_UUID_LEN, rel_len);
		c->path[rel_len] = '\0';
		rel = c->path;
	}
	if (r.bad || r.n != 0)
		return store_scan_corrupt(ret);
	*ret = c->cb(rel, rel_len, &f, c->arg);
	return *ret == 0;
}

int hk_store_index_load(struct hk_store *store, const char *reg_id,
			int (*cb)(const char *relpath, size_t rel_len,
				  const struct hk_store_file *file, void *arg),
			void *arg)
{
	struct store_index_ctx c = { reg_id, cb, arg, NULL };
	MDB_val start = { HK_UUID_LEN, (void *)reg_id };
	int rc;

	if (!store_id_ok(reg_id))
		return -EINVAL;
	rc = store_scan(store, STORE_DB_INDEX, &start, false, store_index_visit, &c);
	free(c.path);
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

struct store_jobs_ctx {
	size_t limit, seen;
	int (*cb)(const struct hk_store_job *job, void *arg);
	void *arg;
};

static bool store_jobs_visit(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg,
			     int *ret)
{
	struct store_jobs_ctx *c = arg;
	struct hk_store_job j;

	(void)txn;
	if (c->limit && c->seen >= c->limit)
		return false;
	if (!store_decode_job(k, v, &j))
		return store_scan_corrupt(ret);
	c->seen++;
	*ret = c->cb(&j, c->arg);
	return *ret == 0;
}

int hk_store_job_list(struct hk_store *store, size_t limit,
		      int (*cb)(const struct hk_store_job *job, void *arg), void *arg)
{
	struct store_jobs_ctx c = { limit, 0, cb, arg };

	return store_scan(store, STORE_DB_JOBS, NULL, true, store_jobs_visit, &c);
}

/* Audit ---------------------------------------------------------------------------- */

static bool store_audit_ok(const struct hk_store_audit *a)
{
	return store_id_ok(a->reg_id) && a->path && a->path_len > 0 &&
	       a->path_len < UINT32_MAX && !memchr(a->path, '\0', a->path_len) &&
	       (!a->aside || (*a->aside && !strchr(a->aside, '/')));
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
	struct hk_buf b = { 0 };   /* each record's encoding, one buffer for all */
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
		unsigned char key[8];
		struct store_op *op;

		a.id = store_audit_next_id(store, a.time_ns);
		a.state = HK_STORE_AUDIT_INTENT;
		a.outcome = NULL;
		a.err = 0;
		ids_out[i] = a.id;
		store_be64(key, a.id);
		b.len = 0;
		store_encode_audit(&b, &a);
		op = &ops[n_ops++];
		op->kind = STORE_OP_APPEND;
		op->db = STORE_DB_AUDIT;
		op->klen = 8;
		op->vlen = b.len;
		op->key = hk_xmalloc(8 + b.len);
		memcpy(op->key, key, 8);
		op->val = op->key + 8;
		memcpy(op->val, b.data, b.len);
		op = &ops[n_ops++];
		op->kind = STORE_OP_APPEND;
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
	hk_buf_fini(&b);
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

struct store_audit_ctx {
	struct hk_store *store;
	const struct hk_store_audit_query *q;
	uint64_t since;      /* audit ids start at time_ns: none older follows */
	size_t seen;
	int (*cb)(const struct hk_store_audit *rec, void *arg);
	void *arg;
};

/* A pending id: its audit record, when it is still an intent. */
static bool store_intents_visit(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg,
				int *ret)
{
	struct store_audit_ctx *c = arg;
	struct hk_store_audit a;
	MDB_val av;
	int rc = mdb_get(txn, c->store->dbi[STORE_DB_AUDIT], (MDB_val *)k, &av);

	(void)v;
	if (rc == MDB_NOTFOUND) {
		log_warnx(STORE_TAG, "%s: pending intent without an audit record",
			  c->store->data_path);
		return true;
	}
	if (rc) {
		*ret = store_code(rc);
		return false;
	}
	if (!store_decode_audit(k, &av, &a))
		return store_scan_corrupt(ret);
	if (a.state != HK_STORE_AUDIT_INTENT)
		return true;
	*ret = c->cb(&a, c->arg);
	return *ret == 0;
}

int hk_store_audit_open_intents(struct hk_store *store,
				int (*cb)(const struct hk_store_audit *rec, void *arg), void *arg)
{
	struct store_audit_ctx c = { .store = store, .cb = cb, .arg = arg };

	return store_scan(store, STORE_DB_PENDING, NULL, false, store_intents_visit, &c);
}

static bool store_audit_visit(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg,
			      int *ret)
{
	struct store_audit_ctx *c = arg;
	const struct hk_store_audit_query *q = c->q;
	struct hk_store_audit a;

	(void)txn;
	if (q->limit && c->seen >= q->limit)
		return false;
	if (!store_decode_audit(k, v, &a))
		return store_scan_corrupt(ret);
	if (a.id < c->since)
		return false;
	if (a.time_ns < q->since_ns)
		return true;
	if (a.state == HK_STORE_AUDIT_INTENT && !q->with_intents)
		return true;
	if (q->reg_id && (!a.reg_id || strcmp(a.reg_id, q->reg_id) != 0))
		return true;
	c->seen++;
	*ret = c->cb(&a, c->arg);
	return *ret == 0;
}

int hk_store_audit_list(struct hk_store *store, const struct hk_store_audit_query *q,
			int (*cb)(const struct hk_store_audit *rec, void *arg), void *arg)
{
	static const struct hk_store_audit_query all = { 0 };
	struct store_audit_ctx c = { .store = store, .q = q ? q : &all, .cb = cb, .arg = arg };
	unsigned char start[8];
	MDB_val from = { sizeof(start), start };

	if (c.q->since_ns > 0)
		c.since = (uint64_t)c.q->since_ns;
	if (c.q->newest_first)
		return store_scan(store, STORE_DB_AUDIT, NULL, true, store_audit_visit, &c);
	store_be64(start, c.since);
	return store_scan(store, STORE_DB_AUDIT, &from, false, store_audit_visit, &c);
}

struct store_page_ctx {
	const struct hk_store_audit_query *q;
	struct hk_store_audit_page *page;
	int (*cb)(const struct hk_store_audit *rec, void *arg);
	void *arg;
};

/* Does a (decoded) record match the query and the page's filter? */
static bool store_page_match(const struct store_page_ctx *c, const struct hk_store_audit *a)
{
	const struct hk_store_audit_query *q = c->q;

	if (a->time_ns < q->since_ns)
		return false;
	if (a->state == HK_STORE_AUDIT_INTENT && !q->with_intents)
		return false;
	if (q->reg_id && (!a->reg_id || strcmp(a->reg_id, q->reg_id) != 0))
		return false;
	return !c->page->keep || c->page->keep(a, c->page->keep_arg);
}

static bool store_page_visit(MDB_txn *txn, const MDB_val *k, const MDB_val *v, void *arg,
			     int *ret)
{
	struct store_page_ctx *c = arg;
	struct hk_store_audit_page *page = c->page;
	struct hk_store_audit a;
	int r;

	(void)txn;
	if (k->mv_size != 8)
		return store_scan_corrupt(ret);
	if (page->max_visit && page->visited >= page->max_visit) {
		page->next_id = store_from_be64(k->mv_data);   /* the budget ends here */
		return false;
	}
	page->visited++;
	if (!store_decode_audit(k, v, &a))
		return store_scan_corrupt(ret);
	if (!store_page_match(c, &a))
		return true;
	if (c->q->limit && page->taken >= c->q->limit) {
		page->next_id = a.id;   /* the next page starts with this one */
		return false;
	}
	r = c->cb(&a, c->arg);
	if (r == HK_STORE_PAGE_FULL) {
		page->next_id = a.id;
		return false;
	}
	if (r) {
		*ret = r;
		return false;
	}
	page->taken++;
	return true;
}

int hk_store_audit_page(struct hk_store *store, const struct hk_store_audit_query *q,
			struct hk_store_audit_page *page,
			int (*cb)(const struct hk_store_audit *rec, void *arg), void *arg)
{
	static const struct hk_store_audit_query all = { 0 };
	struct store_page_ctx c = { q ? q : &all, page, cb, arg };
	uint64_t from = page->from_id;
	unsigned char start[8];
	MDB_val at = { sizeof(start), start };

	page->next_id = 0;
	page->taken = page->visited = 0;
	if (c.q->newest_first)
		return -EINVAL;
	if (c.q->since_ns > 0 && (uint64_t)c.q->since_ns > from)
		from = (uint64_t)c.q->since_ns;   /* ids start at time_ns: none older follows */
	store_be64(start, from);
	return store_scan(store, STORE_DB_AUDIT, &at, false, store_page_visit, &c);
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
