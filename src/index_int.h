/*
 * index_int.h - private to the index's files: index.c (the hash table,
 * insert and remove, the public operations), index_mem.c (records, their
 * chunks, the id arrays) and index_heap.c (the order: the min-heap and
 * sorted snapshots). index.h is the public API; index.c's top comment
 * states the invariants of all three.
 */
#ifndef HK_INDEX_INT_H
#define HK_INDEX_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "index.h"

#define INDEX_POS_MASK 0x0fffffffu
#define INDEX_ID_BITS 28
#define INDEX_MAX ((UINT32_C(1) << INDEX_ID_BITS) - 1u)   /* entries */
#define INDEX_FP_BITS 4
#define INDEX_FP_MASK 0xfu
#define INDEX_CHUNK_SHIFT 12
#define INDEX_CHUNK_BYTES ((size_t)HK_INDEX_CHUNK * sizeof(struct hk_entry))
#define INDEX_HASH_MIN 16u
#define INDEX_HEAP_MIN 16u
#define INDEX_MAP_MIN (64u * 1024u)
#define INDEX_NAME_MAX 255u
#define INDEX_NONE UINT32_MAX

_Static_assert(sizeof(struct hk_entry) == 38, "a record is 38 bytes");
_Static_assert(sizeof(void *) + sizeof(uint32_t) <= sizeof(((struct hk_entry *)0)->name),
	       "a spilled record's name holds its pointer and directory id");
_Static_assert(HK_INDEX_CHUNK == 1u << INDEX_CHUNK_SHIFT, "chunk size and shift agree");

struct index_chunk {
	struct hk_entry *recs;   /* NULL: the number is not in use */
	uint32_t free_head;      /* first freed record + 1; 0 = none */
	uint32_t live;
	uint32_t bumped;         /* records ever handed out: the touched part */
	uint32_t prev, next;     /* open list */
};

struct hk_index {
	uint32_t *slots;         /* hash table */
	size_t n_slots;
	/* While a grown table is filled (index.c, "growing in steps"): the
	 * table before it, whose slots below old_next hold no entry any more;
	 * its entries, the others, are also found there. NULL otherwise. */
	uint32_t *old_slots;
	size_t n_old_slots;
	size_t old_next;
	uint32_t *heap;          /* ids, min-heap by hk_entry_cmp */
	size_t heap_cap;
	size_t heap_ok;          /* heap[0..heap_ok) is in heap order; the rest
				  * was appended since (index_heap_settle) */
	size_t count;
	uint64_t bytes;
	struct index_chunk *chunks;
	uint32_t n_chunks;       /* numbers in use are below */
	uint32_t cap_chunks;
	uint32_t open_head, open_tail;
	uint32_t spare;          /* the empty chunk kept, or INDEX_NONE */
	uint32_t seen_bit;       /* an entry is seen when its HK_ENTRY_SEEN bit is
				  * this (HK_ENTRY_SEEN or 0): hk_index_unmark_all
				  * flips it when every entry is seen, in O(1) */
	size_t n_unseen;         /* entries not seen since hk_index_unmark_all */
};

/* Record access: hot (every lookup, insert and heap move), so inline. */

static inline struct hk_entry *index_rec(const struct hk_index *idx, uint32_t id)
{
	return &idx->chunks[id >> INDEX_CHUNK_SHIFT].recs[id & (HK_INDEX_CHUNK - 1)];
}

static inline uint32_t index_id_of(const struct hk_index *idx, const struct hk_entry *e)
{
	return idx->heap[e->heap_pos & INDEX_POS_MASK];
}

static inline struct hk_entry_spill *index_spill(struct hk_entry *e)
{
	return (struct hk_entry_spill *)hk_entry_spill_of(e);
}

static inline bool index_fits_inline(uint32_t dir, size_t len, const struct hk_file_meta *m)
{
	return len <= HK_ENTRY_INLINE_MAX && m->key_ns == m->mtime_ns && m->size >> 32 == 0 &&
	       m->ino >> 32 == 0 && dir < HK_ENTRY_DIR_INLINE;
}

static inline size_t index_pos(const struct hk_entry *e)
{
	return e->heap_pos & INDEX_POS_MASK;
}

/* Put id in heap slot pos, keeping its seen mark. */
static inline void index_heap_put(struct hk_index *idx, size_t pos, uint32_t id)
{
	struct hk_entry *e = index_rec(idx, id);

	idx->heap[pos] = id;
	e->heap_pos = (e->heap_pos & ~INDEX_POS_MASK) | (uint32_t)pos;
}

/* index_mem.c: records, chunks, arrays */
void index_rec_inline(struct hk_entry *e, uint32_t dir, const char *name, size_t len,
		      const struct hk_file_meta *m);
void index_rec_spill(struct hk_entry *e, uint32_t dir, const char *name, size_t len,
		     const struct hk_file_meta *m);
void index_rec_update(struct hk_entry *e, const struct hk_file_meta *m);
bool index_rec_same(const struct hk_entry *e, const struct hk_file_meta *m);
uint32_t index_rec_alloc(struct hk_index *idx);
void index_rec_release(struct hk_index *idx, uint32_t id);
void index_chunks_free(struct hk_index *idx);
size_t index_round_page(size_t n);
uint32_t *index_arr_new(size_t *n);
void index_arr_free(uint32_t *a, size_t n);
size_t index_arr_mapped(size_t n);

/* index_heap.c: the order */
void index_heap_fix(struct hk_index *idx, size_t pos);
void index_heap_build(struct hk_index *idx);
void index_heap_settle(struct hk_index *idx);
void index_heap_resize(struct hk_index *idx, size_t cap);
void index_heap_reserve(struct hk_index *idx);
void index_heap_maybe_shrink(struct hk_index *idx);

#endif /* HK_INDEX_INT_H */
