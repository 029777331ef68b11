/*
 * store_int.h - what store.c (the environment, transactions),
 * store_queue.c (the write queue) and store_records.c (the record formats
 * and the public record functions) share. Private to those three files:
 * only they include it, and with it <lmdb.h>. The public interface is
 * store.h.
 */
#ifndef HK_STORE_INT_H
#define HK_STORE_INT_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "util.h"

#define STORE_TAG "store"
#define STORE_LMDB_LOCK HK_STORE_DATA_FILE "-lock"
#define STORE_REC_V1 1u
#define STORE_REC_V2 2u   /* audit records with ino and aside; registrations with
				   * min_free ... remove_empty_dirs */
#define STORE_NULL_LEN UINT32_MAX
#define STORE_MAX_RELPATH 4096u
#define STORE_HASH_LEN 16u

enum store_db {
	STORE_DB_META,
	STORE_DB_REGS,
	STORE_DB_INDEX,
	STORE_DB_JOBS,
	STORE_DB_AUDIT,
	STORE_DB_PENDING,
	STORE_DB_COUNT,
};

enum store_op_kind {
	STORE_OP_PUT,
	STORE_OP_APPEND,          /* a put of a key above every key of db (audit
				   * ids): LMDB appends it to the last leaf, no
				   * search, pages filled whole; a normal put when
				   * it is not (MDB_KEYEXIST) */
	STORE_OP_DEL,
	STORE_OP_DEL_PREFIX,      /* delete every key starting with key */
	STORE_OP_CLEAR,           /* empty the database */
	STORE_OP_AUDIT_COMPLETE,  /* key = audit id, val = outcome, err */
	STORE_OP_AUDIT_DROP,      /* key = audit id */
};

/* One write. Queued ones live in the queue's arena (store.c), key, val and
 * a NUL after val in one block; the extra writes of store_txn_run are the
 * caller's (store_op_free). */
struct store_op {
	struct store_op *next;    /* queue order */
	enum store_op_kind kind;
	enum store_db db;
	int err;
	size_t klen;
	size_t vlen;
	unsigned char *key;
	unsigned char *val;       /* key + klen */
};

struct store_chunk;

/* A slot of the coalescing table: the hash is kept beside the op so that
 * a probe does not visit the ops it passes. */
struct store_slot {
	uint64_t hash;
	struct store_op *op;      /* NULL: empty */
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
	/* the queue: a list in an arena, and the latest PUT or DEL of each
	 * index key since the last barrier (open addressing, cleared whole) */
	struct store_op *head;
	struct store_op **tail;
	size_t n_ops;
	size_t queue_max;
	bool index_lost;
	struct store_chunk *chunks;    /* newest first */
	struct store_chunk *free_chunks;   /* kept by store_queue_reset for reuse */
	struct store_slot *slots;
	size_t n_slots;                /* capacity: 0 or a power of two */
	size_t n_slotted;
	bool trim_due;                 /* a large commit since the last trim */
	bool reopen_failing;           /* the last reopen failed (logged once) */
	bool read_only;                /* hk_store_options.read_only: no lock, no writes */
	bool no_lock;                  /* read-only without a reader table (MDB_NOLOCK) */
	/* health */
	int last_err;
	char *last_text;
	/* a record re-encoded while a transaction applies (an audit
	 * completion), kept between records: no allocation per file */
	struct hk_buf scratch;
};

typedef int (*store_work_fn)(struct hk_store *s, MDB_txn *txn, void *arg);

/* Bounds-checked reader over one value; any overrun sets bad. */
struct store_rd {
	const unsigned char *p;
	size_t n;
	bool bad;
};

/* store.c */
int store_code(int rc);
/* store.c: cause (when not NULL) gets a new message. */
void store_set_cause(char **cause, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* store_check.c, before LMDB opens the data file (fd): 0 when it may be
 * opened, HK_ESTORE with *cause when damaged. check_data also says the
 * map size the newer meta page records. */
int store_check_data(int fd, const char *path, uint64_t *map_size, char **cause);
int store_check_walk(const char *path, uint64_t map_size, char **cause);

/* store_queue.c */
void store_op_free(struct store_op *op);
/* Empty the queue after a commit; keep: keep its one chunk, if it had only
 * one (the event path's steady state). */
void store_queue_reset(struct hk_store *s, bool keep);
struct store_op *store_enqueue(struct hk_store *s, enum store_op_kind kind,
			       enum store_db db, const void *key, size_t klen,
			       const void *val, size_t vlen);
struct store_op *store_op_new(struct hk_store *s, enum store_op_kind kind, enum store_db db,
			      size_t klen, size_t vlen);
void store_enqueue_index(struct hk_store *s, struct store_op *op);
void store_index_lose(struct hk_store *s);
int store_index_admit(struct hk_store *s);
int store_txn_run(struct hk_store *s, const struct store_op *extra, size_t n_extra,
		  store_work_fn work, void *arg);
int store_rd_begin(struct hk_store *s, MDB_txn **txn);

/* store_records.c */
/* Completing an audit intent inside a commit (store.c, from the queue). */
int store_apply_complete(struct hk_store *s, MDB_txn *txn, const struct store_op *op);

/* The state directory (store_dir.c): the directory opened and checked
 * (absolute, ours, 0700, no symlink; created if missing), locked with the
 * pid file, one of our private files opened (created 0600) never through
 * a symlink. Each returns an fd or -errno with *cause set. */
int store_open_dir(const char *dir, bool existing, char **cause);
int store_lock(int dir_fd, const char *dir, char **cause);
/* Does another process hold the directory lock (a running daemon)? Probed
 * with a shared lock that is dropped at once; false when unknown. */
bool store_lock_held(int dir_fd);
int store_open_file(int dir_fd, const char *dir, const char *name, int flags, bool existing,
		    char **cause);

struct hk_buf;
/* The codec (store_codec.c). Writing: integers little-endian, strings
 * length-prefixed (NULL as STORE_NULL_LEN); keys big-endian so that they
 * sort by number. Reading through r: a short or bad record sets r->bad and
 * reads as zeros. */
void store_put_u8(struct hk_buf *b, unsigned v);
void store_put_u32(struct hk_buf *b, uint32_t v);
void store_put_u64(struct hk_buf *b, uint64_t v);
void store_put_i64(struct hk_buf *b, int64_t v);
void store_put_bytes(struct hk_buf *b, const char *s, size_t n);
void store_put_str(struct hk_buf *b, const char *s);
void store_be64(unsigned char out[8], uint64_t v);
uint64_t store_from_be64(const unsigned char *p);
const unsigned char *store_take(struct store_rd *r, size_t n);
unsigned store_get_u8(struct store_rd *r);
uint32_t store_get_u32(struct store_rd *r);
uint64_t store_get_u64(struct store_rd *r);
int64_t store_get_i64(struct store_rd *r);
bool store_get_bool(struct store_rd *r);
const char *store_get_str(struct store_rd *r, size_t *len);
char *store_dup_or_null(const char *s);
/* The index key's hash of a long relative path. */
void store_hash(const char *s, size_t n, unsigned char out[STORE_HASH_LEN]);
bool store_id_ok(const char *id);
/* Record kinds: a registration, a job (key: its id), an audit record
 * (key: its id); a decode refuses a record it cannot read whole. */
void store_encode_reg(struct hk_buf *b, const struct hk_registration *reg);
struct hk_registration *store_decode_reg(const MDB_val *v);
bool store_decode_job(const MDB_val *k, const MDB_val *v, struct hk_store_job *j);
void store_encode_audit(struct hk_buf *b, const struct hk_store_audit *a);
bool store_decode_audit(const MDB_val *k, const MDB_val *v, struct hk_store_audit *a);

#endif
