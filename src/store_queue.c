/*
 * store_queue.c - the store's queue of writes, committed in one transaction
 * by store.c (store_txn_run).
 *
 * Invariants:
 *  - a queued write leaves the queue only when the transaction holding it
 *    committed (store_queue_reset), or when a later index write of the
 *    same key replaces it; only index writes are ever dropped
 *    (store_index_lose);
 *  - between two index barriers (DEL_PREFIX, CLEAR) the queue holds at
 *    most one index write per key.
 */
#include "autoconfig.h"

#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "store.h"
#include "store_int.h"
#include "util.h"

/* The queue -----------------------------------------------------------------
 *
 * Queued writes live in an arena of chunks mapped apart from the malloc
 * heap (hk_xmap), filled in order and unmapped together once the queue is
 * committed: a scan's burst of index writes (tens of thousands between two
 * commits) leaves nothing behind between the long-lived index entries in
 * the heap. The one chunk of a queue that never needed more is kept, so
 * that the event path does not map and unmap at every commit.
 *
 * Index PUTs and DELs are coalesced by key: a later one replaces the
 * queued one in place (the last write of a key is the one that counts, and
 * writes of other keys commute with it). A DEL_PREFIX or CLEAR of the index
 * is a barrier: nothing queued before it is replaced by a write after it.
 */

#define STORE_CHUNK_SIZE ((size_t)64 * 1024)
#define STORE_ALIGN(n) (((n) + 7) & ~(size_t)7)

struct store_chunk {
	struct store_chunk *next;   /* the chunk filled before this one */
	size_t size;                /* mapped bytes, this header included */
	size_t used;
};

#define STORE_CHUNK_HDR STORE_ALIGN(sizeof(struct store_chunk))

static size_t store_page_size(void)
{
	static size_t page;

	if (!page) {
		long p = sysconf(_SC_PAGESIZE);
		page = p > 0 ? (size_t)p : 4096;
	}
	return page;
}

/* n bytes of the arena, 8-aligned, valid until the queue is reset. */
static void *store_alloc(struct hk_store *s, size_t n)
{
	struct store_chunk *c = s->chunks;
	void *p;

	n = STORE_ALIGN(n);
	if (!c || c->size - c->used < n) {
		size_t size = STORE_CHUNK_SIZE;
		size_t page = store_page_size();

		if (n > size - STORE_CHUNK_HDR)
			size = (STORE_CHUNK_HDR + n + page - 1) / page * page;
		if (size == STORE_CHUNK_SIZE && s->free_chunks) {
			c = s->free_chunks;   /* kept by the last reset */
			s->free_chunks = c->next;
		} else {
			c = hk_xmap(size);
		}
		c->next = s->chunks;
		c->size = size;
		c->used = STORE_CHUNK_HDR;
		s->chunks = c;
	}
	p = (unsigned char *)c + c->used;
	c->used += n;
	return p;
}

/* Give back the last store_alloc (p, n bytes), which nothing references. */
static void store_alloc_undo(struct hk_store *s, void *p, size_t n)
{
	struct store_chunk *c = s->chunks;

	n = STORE_ALIGN(n);
	if (c && (unsigned char *)p + n == (unsigned char *)c + c->used)
		c->used -= n;
}

static void store_chunks_unmap(struct store_chunk *c)
{
	while (c) {
		struct store_chunk *next = c->next;
		hk_unmap(c, c->size);
		c = next;
	}
}

static void store_slots_free(struct hk_store *s)
{
	hk_unmap(s->slots, s->n_slots * sizeof(*s->slots));
	s->slots = NULL;
	s->n_slots = 0;
	s->n_slotted = 0;
}

/* Forget every index key (a barrier, or the queue is gone). */
static void store_slots_clear(struct hk_store *s)
{
	if (s->n_slotted == 0)
		return;
	if (s->n_slots * sizeof(*s->slots) > store_page_size()) {
		store_slots_free(s);   /* a burst's table: give it back */
		return;
	}
	memset(s->slots, 0, s->n_slots * sizeof(*s->slots));
	s->n_slotted = 0;
}

/* Empty the queue after a commit. keep: keep the chunks if there were at
 * most STORE_KEEP_CHUNKS of the plain size (the event path's steady state:
 * under a flood of events each batch's audit commit empties a queue of a
 * few chunks, and mapping and unmapping them at every commit costs page
 * faults and TLB shootdowns on the other cores), and the key table if it
 * is that small too; a scan's burst is given back. */
#define STORE_KEEP_CHUNKS 8

void store_queue_reset(struct hk_store *s, bool keep)
{
	struct store_chunk *c = s->chunks;
	size_t n_chunks = 0;

	for (; keep && c && n_chunks <= STORE_KEEP_CHUNKS; c = c->next) {
		if (c->size != STORE_CHUNK_SIZE)
			break;
		n_chunks++;
	}
	if (keep && !c && n_chunks <= STORE_KEEP_CHUNKS) {
		for (c = s->chunks; c; c = c->next)
			c->used = STORE_CHUNK_HDR;
		s->free_chunks = s->chunks;
		s->chunks = NULL;
		if (s->free_chunks) {
			/* the newest is refilled first */
			s->chunks = s->free_chunks;
			s->free_chunks = s->chunks->next;
			s->chunks->next = NULL;
		}
	} else {
		store_chunks_unmap(s->chunks);
		store_chunks_unmap(s->free_chunks);
		s->chunks = NULL;
		s->free_chunks = NULL;
	}
	if (keep && s->n_slots * sizeof(*s->slots) <= STORE_KEEP_CHUNKS * STORE_CHUNK_SIZE &&
	    s->n_slotted) {
		memset(s->slots, 0, s->n_slots * sizeof(*s->slots));
		s->n_slotted = 0;
	} else {
		store_slots_clear(s);
	}
	if (!keep)
		store_slots_free(s);
	s->head = NULL;
	s->tail = &s->head;
	s->n_ops = 0;
}

void store_op_free(struct store_op *op)
{
	free(op->key);
	op->key = NULL;
	op->val = NULL;
}

/* A key's hash: 8 bytes at a time (keys are 40 to 511 bytes), with a
 * final mix so that the low bits depend on every byte. */
static uint64_t store_key_hash(const unsigned char *p, size_t n)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325) ^ n;
	uint64_t w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * UINT64_C(0x9e3779b97f4a7c15);
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * UINT64_C(0x9e3779b97f4a7c15);
	h ^= h >> 32;
	h *= UINT64_C(0xd6e8feb86659fd93);
	h ^= h >> 32;
	return h;
}

/* The slot of a key (hash h): the one of the queued op with that key, or
 * an empty one. */
static size_t store_slot_find(const struct hk_store *s, uint64_t h, const unsigned char *key,
			      size_t klen)
{
	size_t mask = s->n_slots - 1;
	size_t i = (size_t)h & mask;

	for (;;) {
		const struct store_slot *sl = &s->slots[i];

		if (!sl->op || (sl->hash == h && sl->op->klen == klen &&
				memcmp(sl->op->key, key, klen) == 0))
			return i;
		i = (i + 1) & mask;
	}
}

/* Room for one more key at a load of at most 1/2. */
static void store_slots_reserve(struct hk_store *s)
{
	struct store_slot *old = s->slots;
	size_t n_old = s->n_slots;
	size_t n_new;

	if (n_old && (s->n_slotted + 1) * 2 <= n_old)
		return;
	n_new = n_old ? n_old * 2 : store_page_size() / sizeof(*s->slots);
	s->slots = hk_xmap(n_new * sizeof(*s->slots));
	s->n_slots = n_new;
	for (size_t i = 0; i < n_old; i++) {
		if (old[i].op) {
			size_t j = (size_t)old[i].hash & (n_new - 1);

			while (s->slots[j].op)   /* keys are unique here */
				j = (j + 1) & (n_new - 1);
			s->slots[j] = old[i];
		}
	}
	hk_unmap(old, n_old * sizeof(*old));
}

static void store_link(struct hk_store *s, struct store_op *op)
{
	if (!s->tail)
		s->tail = &s->head;
	op->next = NULL;
	*s->tail = op;
	s->tail = &op->next;
	s->n_ops++;
	if (op->db == STORE_DB_INDEX &&
	    (op->kind == STORE_OP_DEL_PREFIX || op->kind == STORE_OP_CLEAR))
		store_slots_clear(s);
}

/* A new write of klen + vlen bytes in the arena (val follows key, then a
 * NUL), not queued yet: the caller fills key and val, then queues it with
 * store_enqueue_index (index PUT and DEL only). */
struct store_op *store_op_new(struct hk_store *s, enum store_op_kind kind, enum store_db db,
			      size_t klen, size_t vlen)
{
	struct store_op *op = store_alloc(s, STORE_ALIGN(sizeof(*op)) + klen + vlen + 1);

	memset(op, 0, sizeof(*op));
	op->kind = kind;
	op->db = db;
	op->klen = klen;
	op->vlen = vlen;
	op->key = (unsigned char *)op + STORE_ALIGN(sizeof(*op));
	op->val = op->key + klen;
	op->val[vlen] = '\0';
	return op;
}

/* Queue an index PUT or DEL made by store_op_new (the last one made):
 * it replaces the queued write of the same key, if any, in place. */
void store_enqueue_index(struct hk_store *s, struct store_op *op)
{
	size_t size = STORE_ALIGN(sizeof(*op)) + op->klen + op->vlen + 1;
	uint64_t h = store_key_hash(op->key, op->klen);
	struct store_op *old;
	size_t i;

	store_slots_reserve(s);
	i = store_slot_find(s, h, op->key, op->klen);
	old = s->slots[i].op;
	if (!old) {
		s->slots[i].hash = h;
		s->slots[i].op = op;
		s->n_slotted++;
		store_link(s, op);
		return;
	}
	if (op->kind == STORE_OP_PUT && (old->kind != STORE_OP_PUT || old->vlen != op->vlen)) {
		/* the new value stays where it is; the queued op points at it */
		old->kind = STORE_OP_PUT;
		old->key = op->key;
		old->val = op->val;
		old->vlen = op->vlen;
		return;
	}
	old->kind = op->kind;
	if (op->kind == STORE_OP_PUT)
		memcpy(old->val, op->val, op->vlen);
	else
		old->vlen = 0;
	store_alloc_undo(s, op, size);
}

struct store_op *store_enqueue(struct hk_store *s, enum store_op_kind kind,
				      enum store_db db, const void *key, size_t klen,
				      const void *val, size_t vlen)
{
	struct store_op *op = store_op_new(s, kind, db, klen, vlen);

	if (klen)
		memcpy(op->key, key, klen);
	if (vlen)
		memcpy(op->val, val, vlen);
	store_link(s, op);
	return op;
}

/* Queue limit reached: give up on the persisted index rather than on audit
 * records. Index writes go, one CLEAR of the index takes their place. */
void store_index_lose(struct hk_store *s)
{
	struct store_op **pp = &s->head;
	size_t before = s->n_ops;

	s->tail = &s->head;
	while (*pp) {
		if ((*pp)->db == STORE_DB_INDEX) {
			*pp = (*pp)->next;   /* its bytes go with the arena */
			s->n_ops--;
		} else {
			s->tail = &(*pp)->next;
			pp = &(*pp)->next;
		}
	}
	log_warnx(STORE_TAG, "%s: write queue full (%zu writes, store failing: %s): "
		  "dropping %zu index writes, the stored index will be rebuilt",
		  s->data_path, before, s->last_text ? s->last_text : "?", before - s->n_ops);
	s->index_lost = true;
	store_enqueue(s, STORE_OP_CLEAR, STORE_DB_INDEX, NULL, 0, NULL, 0);
}

/* May an index write be queued? -ENOBUFS when it is dropped. */
int store_index_admit(struct hk_store *s)
{
	if (!s->index_lost && s->n_ops >= s->queue_max)
		store_index_lose(s);
	return s->index_lost ? -ENOBUFS : 0;
}
